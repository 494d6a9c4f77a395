import { afterEach, describe, expect, it } from '@jest/globals'
import { evaluateCheck } from '../../src/analysis/checks/index.js'
import { ROUTERS } from '../../src/routers/registry.js'
import type { CompareCheck } from '../../src/analysis/checks/compare.js'
import type { HttpCheck } from '../../src/analysis/checks/http.js'
import type { PrometheusCheck } from '../../src/analysis/checks/prometheus.js'
import {
  closedPort,
  sendJson,
  startStubServer,
  testEnvironment,
  testPlan,
  vectorResult,
  type StubServer
} from './fixtures.js'

let stub: StubServer | undefined
afterEach(async () => {
  await stub?.close()
  stub = undefined
})

async function prometheusAnswering(status: number, body: unknown): Promise<StubServer> {
  stub = await startStubServer((_request, response) => sendJson(response, status, body))
  return stub
}

function queryOf(server: StubServer, index = 0): string {
  return new URLSearchParams(server.requests[index].body).get('query') ?? ''
}

describe('prometheus check', () => {
  const check = (url: string, bounds: Pick<PrometheusCheck, 'min' | 'max'>): PrometheusCheck => ({
    kind: 'prometheus',
    name: 'success-rate',
    prometheus: { url },
    query: 'sum(rate(requests{version="$canary",service="$service"}[$interval]))',
    ...bounds
  })

  it('passes a value within the bounds and runs the rendered query', async () => {
    const server = await prometheusAnswering(200, vectorResult(0.997))
    const evaluation = await evaluateCheck(check(server.url, { min: 0.99 }), testEnvironment())
    expect(evaluation).toMatchObject({
      check: 'success-rate',
      kind: 'prometheus',
      value: 0.997,
      threshold: '>= 0.99',
      verdict: 'pass',
      message: '0.997 >= 0.99'
    })
    expect(new Date(evaluation.at).getTime()).not.toBeNaN()
    expect(queryOf(server)).toBe('sum(rate(requests{version="v2",service="reviews"}[30s]))')
  })

  it('fails below the minimum, above the maximum and outside a range', async () => {
    const server = await prometheusAnswering(200, vectorResult(0.95))
    const low = await evaluateCheck(check(server.url, { min: 0.99 }), testEnvironment())
    expect(low).toMatchObject({ verdict: 'fail', value: 0.95, message: '0.95 is below the minimum 0.99' })
    const high = await evaluateCheck(check(server.url, { max: 0.5 }), testEnvironment())
    expect(high).toMatchObject({
      verdict: 'fail',
      threshold: '<= 0.5',
      message: '0.95 is above the maximum 0.5'
    })
    const range = await evaluateCheck(check(server.url, { min: 0.96, max: 1 }), testEnvironment())
    expect(range).toMatchObject({ verdict: 'fail', threshold: 'in [0.96, 1]' })
  })

  it('has no data for an empty result or NaN', async () => {
    const empty = await prometheusAnswering(200, vectorResult())
    expect(await evaluateCheck(check(empty.url, { min: 0.99 }), testEnvironment())).toMatchObject({
      verdict: 'nodata',
      value: null,
      message: 'the query returned no samples'
    })
    await empty.close()
    const nan = await prometheusAnswering(200, vectorResult('NaN'))
    expect(await evaluateCheck(check(nan.url, { min: 0.99 }), testEnvironment())).toMatchObject({
      verdict: 'nodata',
      value: null,
      message: 'the query returned NaN'
    })
  })

  it('fails with the error text of Prometheus', async () => {
    const server = await prometheusAnswering(400, {
      status: 'error',
      errorType: 'bad_data',
      error: '1:5: parse error: unexpected end of input'
    })
    const evaluation = await evaluateCheck(check(server.url, { min: 0.99 }), testEnvironment())
    expect(evaluation).toMatchObject({
      verdict: 'fail',
      value: null,
      threshold: '>= 0.99',
      message: 'prometheus: bad_data: 1:5: parse error: unexpected end of input'
    })
  })

  it('fails when the query returns several series', async () => {
    const server = await prometheusAnswering(200, vectorResult(1, 0.5))
    const evaluation = await evaluateCheck(check(server.url, { min: 0.99 }), testEnvironment())
    expect(evaluation.verdict).toBe('fail')
    expect(evaluation.message).toMatch(/returned 2 series/)
  })

  it('runs the template of the plan’s router', async () => {
    const server = await prometheusAnswering(200, vectorResult(120))
    const templated: PrometheusCheck = {
      kind: 'prometheus',
      name: 'latency',
      prometheus: { url: server.url },
      template: 'latency-p99',
      max: 500
    }
    // The engine hands the check the template flavour of the plan's router.
    const plan = testPlan({ router: 'RouteRule' })
    const env = testEnvironment({
      plan,
      metricTemplate: (template, window) => ROUTERS.RouteRule.metricTemplate(template, window, plan)
    })
    expect((await evaluateCheck(templated, env)).verdict).toBe('pass')
    expect(queryOf(server)).toBe(
      '1000 * histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_bucket{' +
        'destination_service="reviews.default.svc.cluster.local",destination_version="v2"}[1m])))'
    )
  })

  it('fails when a credential variable is missing', async () => {
    const evaluation = await evaluateCheck(
      {
        ...check('http://127.0.0.1:1', { min: 1 }),
        prometheus: { url: 'http://127.0.0.1:1', bearerTokenEnv: 'T' }
      } as PrometheusCheck,
      testEnvironment()
    )
    expect(evaluation.verdict).toBe('fail')
    expect(evaluation.message).toMatch(/environment variable T/)
  })
})

describe('http check', () => {
  const check = (url: string, overrides: Partial<HttpCheck> = {}): HttpCheck => ({
    kind: 'http',
    name: 'smoke',
    url,
    method: 'GET',
    headers: {},
    expectStatus: [200],
    timeoutMs: 2000,
    ...overrides
  })

  async function site(status: number, body: string, delayMs = 0): Promise<StubServer> {
    stub = await startStubServer((_request, response) => {
      const timer = setTimeout(
        () => response.writeHead(status, { 'content-type': 'text/html' }).end(body),
        delayMs
      )
      response.on('close', () => clearTimeout(timer))
    })
    return stub
  }

  it('passes an expected status and body, sending method and headers', async () => {
    const server = await site(200, '<h1>Book Reviews</h1>')
    const evaluation = await evaluateCheck(
      check(`${server.url}/productpage`, {
        method: 'POST',
        headers: { cookie: 'user=test-user' },
        expectBody: 'Book\\s+Rev'
      }),
      testEnvironment()
    )
    expect(evaluation).toMatchObject({
      verdict: 'pass',
      value: 200,
      threshold: 'status in [200], body ~ /Book\\s+Rev/'
    })
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/productpage' })
    expect(server.requests[0].headers.cookie).toBe('user=test-user')
  })

  it('fails an unexpected status', async () => {
    const server = await site(503, 'down')
    const evaluation = await evaluateCheck(check(server.url, { expectStatus: [200, 204] }), testEnvironment())
    expect(evaluation).toMatchObject({ verdict: 'fail', value: 503, threshold: 'status in [200, 204]' })
    expect(evaluation.message).toMatch(/status 503, expected one of \[200, 204\]/)
  })

  it('fails a body that does not match', async () => {
    const server = await site(200, 'Welcome')
    const evaluation = await evaluateCheck(
      check(server.url, { expectBody: 'Book Reviews' }),
      testEnvironment()
    )
    expect(evaluation).toMatchObject({ verdict: 'fail', value: 200 })
    expect(evaluation.message).toMatch(/body does not match \/Book Reviews\//)
  })

  it('fails an invalid RE2 pattern', async () => {
    const server = await site(200, 'abc')
    const evaluation = await evaluateCheck(
      check(server.url, { expectBody: '(?=lookahead)' }),
      testEnvironment()
    )
    expect(evaluation.verdict).toBe('fail')
  })

  it('fails after the timeout', async () => {
    const server = await site(200, 'late', 2000)
    const evaluation = await evaluateCheck(check(server.url, { timeoutMs: 100 }), testEnvironment())
    expect(evaluation).toMatchObject({ verdict: 'fail', value: null })
    expect(evaluation.message).toMatch(/no answer within 100ms/)
  })

  it('fails a refused connection with the reason', async () => {
    const port = await closedPort()
    const evaluation = await evaluateCheck(check(`http://127.0.0.1:${port}/health`), testEnvironment())
    expect(evaluation).toMatchObject({ verdict: 'fail', value: null })
    expect(evaluation.message).toMatch(new RegExp(`^GET http://127.0.0.1:${port}/health: .*ECONNREFUSED`))
  })

  it('sends credentials written in the URL as basic auth and never shows them', async () => {
    const server = await site(401, 'who are you?')
    const evaluation = await evaluateCheck(
      check(server.url.replace('//', '//bob:hunter2@')),
      testEnvironment()
    )
    expect(server.requests[0].headers.authorization).toBe(
      `Basic ${Buffer.from('bob:hunter2').toString('base64')}`
    )
    expect(evaluation).toMatchObject({ verdict: 'fail', value: 401 })
    expect(evaluation.message).not.toMatch(/bob|hunter2/)
  })
})

describe('http check redirects', () => {
  const KEY = 'apiKeyS3cretValue0123456789abcdef'
  let other: StubServer | undefined
  afterEach(async () => {
    await other?.close()
    other = undefined
  })

  const check = (url: string, overrides: Partial<HttpCheck> = {}): HttpCheck => ({
    kind: 'http',
    name: 'smoke',
    url,
    method: 'GET',
    headers: {},
    expectStatus: [200],
    timeoutMs: 2000,
    ...overrides
  })

  /** The checked service: /productpage redirects to `target`, /old to /productpage on itself. */
  async function redirecting(target: () => string): Promise<StubServer> {
    stub = await startStubServer((request, response) => {
      if (request.path === '/productpage') return response.writeHead(302, { location: target() }).end()
      if (request.path === '/old') return response.writeHead(301, { location: '/new' }).end()
      response.writeHead(200, { 'content-type': 'text/html' }).end('Book Reviews')
    })
    return stub
  }

  it('does not send plan headers to another origin a redirect points to', async () => {
    other = await startStubServer((_request, response) => response.writeHead(200).end('thanks'))
    const service = await redirecting(() => `${other!.url}/collect`)
    const evaluation = await evaluateCheck(
      check(`${service.url}/productpage`, { headersFromEnv: { 'x-api-key': 'SMOKE_KEY' } }),
      testEnvironment({ env: { SMOKE_KEY: KEY } })
    )
    expect(other.requests).toEqual([])
    expect(service.requests[0].headers['x-api-key']).toBe(KEY)
    expect(evaluation).toMatchObject({ verdict: 'fail', value: 302 })
    expect(evaluation.message).toContain(`status 302 (redirect to ${other.url} not followed`)
    expect(evaluation.message).not.toContain(KEY)
  })

  it('lets a plan accept that redirect as the healthy answer', async () => {
    other = await startStubServer((_request, response) => response.writeHead(200).end())
    const service = await redirecting(() => `${other!.url}/login`)
    const evaluation = await evaluateCheck(
      check(`${service.url}/productpage`, { headers: { cookie: 'user=test-user' }, expectStatus: [302] }),
      testEnvironment()
    )
    expect(evaluation).toMatchObject({ verdict: 'pass', value: 302 })
    expect(other.requests).toEqual([])
  })

  it('follows redirects within the origin with the plan headers', async () => {
    const service = await redirecting(() => '/unused')
    const evaluation = await evaluateCheck(
      check(`${service.url}/old`, { headersFromEnv: { 'x-api-key': 'SMOKE_KEY' }, expectBody: 'Book' }),
      testEnvironment({ env: { SMOKE_KEY: KEY } })
    )
    expect(evaluation).toMatchObject({ verdict: 'pass', value: 200 })
    expect(service.requests.map(request => [request.path, request.headers['x-api-key']])).toEqual([
      ['/old', KEY],
      ['/new', KEY]
    ])
  })

  it('follows any redirect when the request carries no header from the plan', async () => {
    other = await startStubServer((_request, response) => response.writeHead(200).end('Book Reviews'))
    const service = await redirecting(() => `${other!.url}/productpage`)
    const evaluation = await evaluateCheck(check(`${service.url}/productpage`), testEnvironment())
    expect(evaluation).toMatchObject({ verdict: 'pass', value: 200 })
    expect(other.requests).toHaveLength(1)
  })

  it('fails a header value the HTTP client cannot send, without quoting it', async () => {
    const service = await redirecting(() => '/unused')
    const evaluation = await evaluateCheck(
      check(`${service.url}/new`, { headersFromEnv: { 'x-api-key': 'SMOKE_KEY' } }),
      testEnvironment({ env: { SMOKE_KEY: `${KEY}\n` } })
    )
    expect(evaluation).toMatchObject({ verdict: 'fail', value: null })
    expect(evaluation.message).toMatch(
      /^header x-api-key: environment variable SMOKE_KEY contains a line break/
    )
    expect(evaluation.message).not.toContain(KEY.slice(0, 8))
    expect(service.requests).toEqual([])
  })
})

describe('kubernetes check', () => {
  const check = { kind: 'kubernetes' as const, name: 'canary-pods', maxRestarts: 1 }

  it('passes available deployments with few restarts', async () => {
    const env = testEnvironment({
      readCanaryPods: async () => ({ deployments: [{ name: 'reviews-v2', available: true }], maxRestarts: 1 })
    })
    expect(await evaluateCheck(check, env)).toMatchObject({
      verdict: 'pass',
      value: 1,
      threshold: 'available, restarts <= 1'
    })
  })

  it('names the deployments that are not available and why', async () => {
    const env = testEnvironment({
      readCanaryPods: async () => ({
        deployments: [
          { name: 'reviews-v2', available: false, reason: 'MinimumReplicasUnavailable' },
          { name: 'ratings-v2', available: true }
        ],
        maxRestarts: 0
      })
    })
    expect(await evaluateCheck(check, env)).toMatchObject({
      verdict: 'fail',
      message: 'not available: reviews-v2 (MinimumReplicasUnavailable)'
    })
  })

  it('fails too many restarts', async () => {
    const env = testEnvironment({
      readCanaryPods: async () => ({ deployments: [{ name: 'reviews-v2', available: true }], maxRestarts: 4 })
    })
    const evaluation = await evaluateCheck(check, env)
    expect(evaluation).toMatchObject({ verdict: 'fail', value: 4 })
    expect(evaluation.message).toMatch(/restarted 4 times \(at most 1\)/)
  })

  it('fails when the pods cannot be read', async () => {
    const env = testEnvironment({
      readCanaryPods: async () => {
        throw new Error('deployments.apps is forbidden')
      }
    })
    expect(await evaluateCheck(check, env)).toMatchObject({
      verdict: 'fail',
      value: null,
      message: 'deployments.apps is forbidden'
    })
  })
})

describe('compare check', () => {
  const matrix = (...series: (number | string)[][]) => ({
    status: 'success',
    data: {
      resultType: 'matrix',
      result: series.map((values, index) => ({
        metric: { pod: String(index) },
        values: values.map((value, step) => [1700000000 + step, String(value)])
      }))
    }
  })
  const steady = (center: number, count: number) => Array.from({ length: count }, (_, i) => center + (i % 3))

  async function prometheusComparing(canary: object, stable: object): Promise<StubServer> {
    stub = await startStubServer((request, response) => {
      const query = new URLSearchParams(request.body).get('query') ?? ''
      sendJson(response, 200, query.includes('"v2"') ? canary : stable)
    })
    return stub
  }

  const compare = (url: string): CompareCheck => ({
    kind: 'compare',
    method: 'mann-whitney',
    name: 'latency-vs-stable',
    prometheus: { url },
    query: 'avg(latency{version="$version"}[$interval])',
    direction: 'increase',
    tolerance: 0.25,
    confidence: 0.98,
    minSamples: 10
  })

  it('fails a canary slower than stable, over all samples of all series since the stage began', async () => {
    const server = await prometheusComparing(
      matrix(steady(200, 8), [210, 'NaN', 205]),
      matrix(steady(100, 12))
    )
    const now = new Date(1_700_001_000_000)
    const env = testEnvironment({ now: () => now, stageStartedAt: new Date(now.getTime() - 1000_000) })
    const evaluation = await evaluateCheck(compare(server.url), env)
    expect(evaluation).toMatchObject({
      verdict: 'fail',
      threshold: 'increase <= 25% (confidence 0.98)',
      details: { canarySamples: 10, stableSamples: 12, u: 120 }
    })
    expect(evaluation.value).toBeCloseTo(100 / 101)
    expect(evaluation.details?.p).toBeLessThan(0.001)

    const forms = server.requests.map(request => Object.fromEntries(new URLSearchParams(request.body)))
    expect(forms.map(form => form.query).sort()).toEqual([
      'avg(latency{version="v1"}[30s])',
      'avg(latency{version="v2"}[30s])'
    ])
    expect(forms[0]).toMatchObject({ start: '1700000000', end: '1700001000', step: '4' })
    expect(server.requests.every(request => request.path === '/api/v1/query_range')).toBe(true)
  })

  it('passes a canary like stable', async () => {
    const server = await prometheusComparing(matrix(steady(100, 15)), matrix(steady(100, 15)))
    const evaluation = await evaluateCheck(compare(server.url), testEnvironment())
    expect(evaluation).toMatchObject({ verdict: 'pass', value: 0 })
  })

  it('has no data with fewer than 10 samples', async () => {
    const server = await prometheusComparing(matrix(steady(200, 5)), matrix(steady(100, 15)))
    expect(await evaluateCheck(compare(server.url), testEnvironment())).toMatchObject({
      verdict: 'nodata',
      value: null,
      details: { canarySamples: 5, stableSamples: 15 }
    })
  })
})
