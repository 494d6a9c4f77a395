import { describe, expect, it } from '@jest/globals'
import { assertCredentialValues, credentialSecrets } from '../../src/analysis/checks/index.js'
import { headerValueProblem, runnerVariableProblem } from '../../src/analysis/credentials.js'
import type { CheckBase } from '../../src/plan/types.js'

const checks = [
  { kind: 'kubernetes', name: 'pods', maxRestarts: 0 },
  {
    kind: 'http',
    name: 'smoke',
    url: 'http://a',
    method: 'GET',
    headers: {},
    headersFromEnv: { 'x-api-key': 'SMOKE_KEY' },
    expectStatus: [200],
    timeoutMs: 1000
  },
  {
    kind: 'prometheus',
    name: 'rate',
    prometheus: { url: 'http://p', usernameEnv: 'U', passwordEnv: 'P' },
    query: 'up',
    min: 1
  }
] as unknown as CheckBase[]

describe('runnerVariableProblem', () => {
  it.each([
    'INPUT_KUBECONFIG',
    'ACTIONS_RUNTIME_TOKEN',
    'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    'GITHUB_TOKEN',
    'github_token',
    'RUNNER_TEMP',
    'STATE_isPost'
  ])('refuses %s', name =>
    expect(runnerVariableProblem(name)).toMatch(
      new RegExp(`^names ${name}, one of the runner's own variables`)
    )
  )

  it.each(['SMOKE_KEY', 'PROMETHEUS_TOKEN', 'MY_GITHUB_TOKEN'])('accepts %s', name =>
    expect(runnerVariableProblem(name)).toBeUndefined()
  )
})

describe('header values', () => {
  it('accepts what HTTP can carry and names what it cannot, without quoting the value', () => {
    expect(headerValueProblem('Bearer abc.def')).toBeUndefined()
    expect(headerValueProblem('caf\u00e9')).toBeUndefined()
    expect(headerValueProblem('abc\n')).toMatch(/^contains a line break/)
    expect(headerValueProblem('a\u0000b')).toMatch(/control character/)
    expect(headerValueProblem('\u20ac')).toMatch(/outside Latin-1/)
    expect(headerValueProblem(' abc')).toMatch(/whitespace/)
  })

  it('stops the run at the first bad value, naming the field and the variable', () => {
    expect(() => assertCredentialValues(checks, { SMOKE_KEY: 'sekret-value\r\n' })).toThrow(
      'analysis.checks[1].http.headersFromEnv.x-api-key: the value of environment variable SMOKE_KEY contains a line break'
    )
    expect(() => assertCredentialValues(checks, { SMOKE_KEY: '' })).toThrow(
      /SMOKE_KEY is empty, so it cannot be sent in an HTTP header; set it from a secret that exists/
    )
    // Basic-auth parts travel base64-encoded; unset variables are the check's to report.
    expect(() => assertCredentialValues(checks, { U: 'a\nb', P: 'x' })).not.toThrow()
    try {
      assertCredentialValues(checks, { SMOKE_KEY: 'sekret-value\n' })
    } catch (error) {
      expect((error as Error).message).not.toContain('sekret')
    }
  })

  it('lists the values to mask, with the basic-auth header they make', () => {
    expect(credentialSecrets(checks, { SMOKE_KEY: 'k1', U: 'alice', P: 'pw' })).toEqual([
      'k1',
      'alice',
      'pw',
      Buffer.from('alice:pw').toString('base64')
    ])
  })
})
