/**
 * No secret leaks: a representative set of runs (checks with credentials from the environment, a failing
 * check and its rollback, a drift refusal, GitHub reports) with distinctive credentials everywhere, then a
 * scan of every place a user or a reader of the PR can see. The `::add-mask::` lines are the only place a
 * secret may be printed (the runner consumes them).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import yaml from 'js-yaml'
import { generate } from 'selfsigned'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { bookinfoObjects } from '../../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { runAction, type ActionResult } from '../../testkit/run-action.js'
import { NETWORKING } from './helpers.js'

const KUBE_TOKEN = 'kubeTokenS3cretValue7a41f0c2e9d8'
const GITHUB_TOKEN = 'ghs_githubTokenS3cretValue5b6c7d8e9f'
const PROM_TOKEN = 'promBearerS3cretValue0f1e2d3c4b5a'
const SMOKE_KEY = 'smokeHeaderS3cretValue99aa88bb77'
const HEAD = 'c0ffee0000000000000000000000000000000001'
/** A credential of the runner itself, which a plan must not be able to send anywhere. */
const RUNTIME_TOKEN = 'runnerRuntimeS3cretValue3c4d5e6f7a8b'

interface Stub {
  url: string
  server: Server
  authorizations: string[]
}

/** A stub that answers with what `answer` says and records the credentials it was sent. */
async function stub(
  header: string,
  answer: (credential: string) => { status: number; body: unknown }
): Promise<Stub> {
  const authorizations: string[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume()
    request.on('end', () => {
      const credential = String(request.headers[header] ?? '')
      authorizations.push(credential)
      const { status, body } = answer(credential)
      response.writeHead(status, {
        'content-type': typeof body === 'string' ? 'text/plain' : 'application/json'
      })
      response.end(typeof body === 'string' ? body : JSON.stringify(body))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, server, authorizations }
}

let api: KubeApi
let github: FakeGitHub
let prometheus: Stub
let smoke: Stub
let kubeconfig: string
let clientKeyData: string
let clientKeyPem: string
let healthy = true
/** Prometheus refuses the token and echoes it, so that cutting its answer at 200 characters splits the token. */
let prometheusEchoes = false
const results: ActionResult[] = []

const vector = (value: string) => ({
  status: 'success',
  data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, value] }] }
})

beforeAll(async () => {
  api = await startKubeApi({ token: KUBE_TOKEN })
  api.seed(bookinfoObjects())
  github = await startFakeGitHub({
    owner: 'octo-org',
    repo: 'bookinfo',
    pulls: [{ number: 7, headSha: HEAD }]
  })
  // Healthy: the query answers 0.999; unhealthy: 0.5, under the check's minimum.
  prometheus = await stub('authorization', credential =>
    prometheusEchoes
      ? { status: 401, body: `${'x'.repeat(180)} ${credential} is not a valid token` }
      : { status: 200, body: vector(healthy ? '0.999' : '0.5') }
  )
  // Unhealthy, the smoke endpoint's error echoes the credential it was sent, as some proxies do: the
  // product must keep it out of everything it writes.
  smoke = await stub('x-api-key', credential =>
    healthy ? { status: 200, body: 'Book Reviews' } : { status: 503, body: `key ${credential} is over quota` }
  )
  const pems = await generate([{ name: 'commonName', value: 'ci' }], {
    keyType: 'ec',
    curve: 'P-256'
  } as never)
  clientKeyPem = pems.private
  clientKeyData = Buffer.from(pems.private).toString('base64')
  const config = yaml.load(api.kubeconfig()) as {
    users: { user: Record<string, string> }[]
  }
  config.users[0].user['client-certificate-data'] = Buffer.from(pems.cert).toString('base64')
  config.users[0].user['client-key-data'] = clientKeyData
  kubeconfig = yaml.dump(config)
}, 60_000)

afterAll(async () => {
  await Promise.all([
    api.close(),
    github.close(),
    new Promise(resolve => prometheus.server.close(resolve)),
    new Promise(resolve => smoke.server.close(resolve))
  ])
})

const plan = () => `
service: reviews
stable: v1
canary: v2
stages:
  - weight: 10
  - weight: 50
analysis:
  interval: 300ms
  bake: 700ms
  checks:
    - name: success-rate
      prometheus:
        url: ${prometheus.url}
        query: 'sum(rate(istio_requests_total{destination_version="$canary"}[1m]))'
        bearerTokenEnv: PROM_TOKEN
        min: 0.99
    - name: smoke
      http:
        url: ${smoke.url}/productpage
        headersFromEnv: { x-api-key: SMOKE_KEY }
        expectBody: Book Reviews
`

function workflowEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'event-'))
  const eventPath = path.join(dir, 'event.json')
  writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7, head: { sha: HEAD } } }))
  return {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'octo-org/bookinfo',
    GITHUB_SHA: HEAD,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.com',
    PROM_TOKEN,
    SMOKE_KEY,
    ...extra
  }
}

async function run(
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionResult> {
  const result = await runAction({
    inputs: { plan: plan(), kubeconfig, 'github-token': GITHUB_TOKEN, ...inputs },
    env: workflowEnv({ ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN, ...env })
  })
  results.push(result)
  return result
}

/** Each secret, and for the client key also a distinctive piece of its PEM body. */
function secrets(): Record<string, string> {
  const pemBody = clientKeyPem.split('\n').filter(line => line && !line.startsWith('-----'))
  return {
    'kubeconfig token': KUBE_TOKEN,
    'client key (base64)': clientKeyData,
    'client key (PEM)': pemBody.join('').slice(8, 48),
    'GitHub token': GITHUB_TOKEN,
    'Prometheus token': PROM_TOKEN,
    // What is left of the token when an error message quoting it is cut short: the runner does not mask it.
    'Prometheus token, cut short': PROM_TOKEN.slice(0, 12),
    'http header from env': SMOKE_KEY,
    "the runner's runtime token": RUNTIME_TOKEN
  }
}

it('runs the representative set', async () => {
  const advanced = await run()
  expect(advanced.exitCode).toBe(0)
  expect(advanced.outputs).toMatchObject({ status: 'advanced', stage: '10%' })
  // The credentials did reach the services that need them.
  expect(prometheus.authorizations).toContain(`Bearer ${PROM_TOKEN}`)
  expect(smoke.authorizations).toContain(SMOKE_KEY)

  healthy = false
  const failed = await run()
  expect(failed.exitCode).toBe(1)
  expect(failed.outputs.status).toBe('rolled-back')
  healthy = true

  const next = await run({ revision: 'v2-b' })
  expect(next.exitCode).toBe(0)
  const edited = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')!
  const http = (edited.spec as { http: { route: { weight?: number }[] }[] }).http
  http[1].route[0].weight = 70
  http[1].route[1].weight = 30
  api.put(edited)
  const refused = await run({ revision: 'v2-b' })
  expect(refused.exitCode).toBe(1)
  expect(refused.annotations.find(a => a.kind === 'error')?.message).toMatch(/^drift: /)

  const status = await run({ command: 'status', revision: 'v2-b' })
  expect(status.exitCode).toBe(0)
  // The reports were written: comments, statuses and summaries are part of the scan.
  expect(github.comments.length).toBeGreaterThan(0)
  expect(github.statuses.length).toBeGreaterThan(0)
  expect(results.filter(r => r.exitCode === 0).every(r => r.summary.length > 0)).toBe(true)
  expect(failed.summary).toContain('rolled back')
}, 120_000)

it('keeps a token a server echoes out of every message, even where the message is cut inside it', async () => {
  const rolledBack = await run({ command: 'rollback', revision: 'v2-b' })
  expect(rolledBack.exitCode).toBe(0)

  prometheusEchoes = true
  const echoed = await run({ revision: 'v2-c' })
  prometheusEchoes = false
  expect(echoed.exitCode).toBe(1)
  expect(echoed.outputs.status).toBe('rolled-back')
  const reason = (echoed.report as { rollback: { reason: string } }).rollback.reason
  expect(reason).toMatch(/HTTP 401 Unauthorized: x{180} \*\*\* is not a valid/)
}, 120_000)

it('refuses a header value with a line break before any write, without quoting it', async () => {
  // A line break in the secret: the HTTP client would refuse the header with an error quoting it. The run
  // stops before anything is written, naming the field and the variable, not the value.
  api.clearRequests()
  const broken = await run({ revision: 'v2-d' }, { SMOKE_KEY: `${SMOKE_KEY}\nx-injected: yes` })
  expect(broken.exitCode).toBe(1)
  expect(broken.annotations.find(a => a.kind === 'error')?.message).toBe(
    'analysis.checks[1].http.headersFromEnv.x-api-key: the value of environment variable SMOKE_KEY contains a ' +
      'line break (often a trailing newline pasted into the secret), so it cannot be sent in an HTTP header; ' +
      'store the secret without it'
  )
  expect(api.writes()).toEqual([])
  expect(smoke.authorizations.some(credential => credential.includes('x-injected'))).toBe(false)
}, 120_000)

it("refuses a plan that would send the runner's own credentials to its check URL", async () => {
  const requestsBefore = smoke.authorizations.length
  const stolen = await run({
    revision: 'v2-e',
    plan: plan().replace('x-api-key: SMOKE_KEY', 'x-api-key: ACTIONS_RUNTIME_TOKEN')
  })
  expect(stolen.exitCode).toBe(1)
  expect(stolen.annotations.filter(a => a.kind === 'error').map(a => a.message)).toEqual([
    expect.stringMatching(
      /^plan: analysis\.checks\[1\]\.http\.headersFromEnv\.x-api-key: names ACTIONS_RUNTIME_TOKEN, one of the runner's own variables/
    )
  ])
  expect(smoke.authorizations.length).toBe(requestsBefore)
  expect(api.writes()).toEqual([])
}, 60_000)

it('never shows a secret: logs, outputs, report files, summaries, comments, statuses', () => {
  expect(results.length).toBe(9)
  const places: [string, string][] = []
  results.forEach((result, index) => {
    const stdout = result.stdout
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    places.push([`run ${index + 1} stdout`, stdout])
    places.push([`run ${index + 1} stderr`, result.stderr])
    places.push([`run ${index + 1} outputs`, JSON.stringify(result.outputs)])
    places.push([`run ${index + 1} saved state`, JSON.stringify(result.state)])
    places.push([`run ${index + 1} job summary`, result.summary])
    if (result.outputs.report)
      places.push([`run ${index + 1} report file`, readFileSync(result.outputs.report, 'utf8')])
  })
  github.requests.forEach(request => places.push([`GitHub ${request.method} ${request.path}`, request.body]))
  places.push(['GitHub comments', JSON.stringify(github.comments)])
  places.push(['GitHub statuses', JSON.stringify(github.statuses)])
  // The routing objects' annotations are readable by anyone with read access to the namespace.
  places.push([
    'routing annotations',
    JSON.stringify(api.get(NETWORKING, 'VirtualService', 'default', 'reviews'))
  ])
  const leaks: string[] = []
  for (const [secretName, value] of Object.entries(secrets())) {
    for (const [place, text] of places) if (text.includes(value)) leaks.push(`${secretName} in ${place}`)
  }
  expect(leaks).toEqual([])
  // Each credential the run knew of was masked for the runner's log.
  const masked = results[0].stdout.split('\n').filter(line => line.startsWith('::add-mask::'))
  for (const value of [KUBE_TOKEN, clientKeyData, GITHUB_TOKEN, PROM_TOKEN, SMOKE_KEY])
    expect(masked).toContain(`::add-mask::${value}`)
})
