import { afterEach, describe, expect, it } from '@jest/globals'
import { instantQuery, rangeQuery } from '../../src/analysis/prometheus-client.js'
import { closedPort, sendJson, startStubServer, vectorResult, type StubServer } from './fixtures.js'

let stub: StubServer | undefined
/** Every stub a test started (a test may start several): each one left listening would keep jest's worker alive. */
const started: StubServer[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map(server => server.close()))
  stub = undefined
})

async function prometheusAnswering(status: number, body: unknown): Promise<StubServer> {
  stub = await startStubServer((_request, response) =>
    typeof body === 'string' ? response.writeHead(status).end(body) : sendJson(response, status, body)
  )
  started.push(stub)
  return stub
}

describe('instantQuery', () => {
  it('posts the query form-encoded to /api/v1/query and reads the vector', async () => {
    const server = await prometheusAnswering(200, vectorResult(0.5, 'NaN', '+Inf', '-Inf'))
    const samples = await instantQuery({ url: `${server.url}/prom` }, 'up == 1', {
      env: {},
      time: new Date(1_700_000_000_500)
    })
    expect(samples.map(sample => sample.value)).toEqual([0.5, NaN, Infinity, -Infinity])
    expect(samples[0]).toEqual({ metric: { series: '0' }, timestamp: 1700000000, value: 0.5 })
    const [request] = server.requests
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/prom/api/v1/query')
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      query: 'up == 1',
      time: '1700000000.5'
    })
  })

  it('reads a scalar as one sample without labels', async () => {
    await prometheusAnswering(200, {
      status: 'success',
      data: { resultType: 'scalar', result: [1700000000, '42'] }
    })
    const samples = await instantQuery({ url: stub!.url }, 'vector(42)', { env: {} })
    expect(samples).toEqual([{ metric: {}, timestamp: 1700000000, value: 42 }])
  })

  it("throws Prometheus's own error text for a bad query", async () => {
    await prometheusAnswering(400, {
      status: 'error',
      errorType: 'bad_data',
      error: '1:5: parse error: unexpected end of input'
    })
    await expect(instantQuery({ url: stub!.url }, 'sum(', { env: {} })).rejects.toThrow(
      'prometheus: bad_data: 1:5: parse error: unexpected end of input'
    )
  })

  it('reports an HTTP error that is not a Prometheus answer', async () => {
    await prometheusAnswering(502, 'upstream unavailable')
    await expect(instantQuery({ url: stub!.url }, 'up', { env: {} })).rejects.toThrow(
      /^prometheus: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: HTTP 502 Bad Gateway: upstream unavailable$/
    )
  })

  it('reports a refused connection', async () => {
    const port = await closedPort()
    await expect(instantQuery({ url: `http://127.0.0.1:${port}` }, 'up', { env: {} })).rejects.toThrow(
      /ECONNREFUSED/
    )
  })
})

describe('credentials', () => {
  it('sends a bearer token read from the named variable', async () => {
    const server = await prometheusAnswering(200, vectorResult(1))
    await instantQuery({ url: server.url, bearerTokenEnv: 'PROM_TOKEN' }, 'up', {
      env: { PROM_TOKEN: 's3cret' }
    })
    expect(server.requests[0].headers.authorization).toBe('Bearer s3cret')
  })

  it('sends basic auth read from the named variables', async () => {
    const server = await prometheusAnswering(200, vectorResult(1))
    const source = { url: server.url, usernameEnv: 'PROM_USER', passwordEnv: 'PROM_PASSWORD' }
    await instantQuery(source, 'up', { env: { PROM_USER: 'alice', PROM_PASSWORD: 'p@ss' } })
    expect(server.requests[0].headers.authorization).toBe(
      `Basic ${Buffer.from('alice:p@ss').toString('base64')}`
    )
  })

  it('turns credentials written in the URL into basic auth', async () => {
    const server = await prometheusAnswering(200, vectorResult(1))
    await instantQuery({ url: server.url.replace('http://', 'http://bob:pa%3Ass@') }, 'up', { env: {} })
    expect(server.requests[0].headers.authorization).toBe(
      `Basic ${Buffer.from('bob:pa:ss').toString('base64')}`
    )
  })

  it('names a missing variable', async () => {
    await expect(
      instantQuery({ url: 'http://127.0.0.1:1', bearerTokenEnv: 'PROM_TOKEN' }, 'up', { env: {} })
    ).rejects.toThrow('prometheus: environment variable PROM_TOKEN (named by bearerTokenEnv) is not set')
  })

  it('keeps credentials out of error messages', async () => {
    const port = await closedPort()
    const failures = [
      instantQuery({ url: `http://bob:hunter2@127.0.0.1:${port}` }, 'up', { env: {} }),
      instantQuery({ url: `http://127.0.0.1:${port}`, bearerTokenEnv: 'T' }, 'up', { env: { T: 'hunter2' } })
    ]
    for (const failure of failures) {
      const error = await failure.then(
        () => new Error('resolved'),
        (reason: Error) => reason
      )
      expect(error.message).toMatch(/^prometheus: /)
      expect(error.message).not.toContain('hunter2')
      expect(error.message).not.toContain('bob')
    }
  })
})

describe('rangeQuery', () => {
  it('posts start, end and step to /api/v1/query_range and reads the matrix', async () => {
    const server = await prometheusAnswering(200, {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { pod: 'a' },
            values: [
              [100, '1'],
              [101, 'NaN']
            ]
          },
          { metric: { pod: 'b' }, values: [[100, '3']] }
        ]
      }
    })
    const series = await rangeQuery({ url: server.url }, 'rate(x[1m])', {
      env: {},
      start: new Date(100_000),
      end: new Date(160_000),
      stepSeconds: 1.5
    })
    expect(series).toEqual([
      {
        metric: { pod: 'a' },
        values: [
          [100, 1],
          [101, NaN]
        ]
      },
      { metric: { pod: 'b' }, values: [[100, 3]] }
    ])
    expect(server.requests[0].path).toBe('/api/v1/query_range')
    expect(Object.fromEntries(new URLSearchParams(server.requests[0].body))).toEqual({
      query: 'rate(x[1m])',
      start: '100',
      end: '160',
      step: '1.5'
    })
  })

  it('refuses an answer that is not a matrix', async () => {
    await prometheusAnswering(200, vectorResult(1))
    await expect(
      rangeQuery({ url: stub!.url }, 'x', {
        env: {},
        start: new Date(0),
        end: new Date(1000),
        stepSeconds: 1
      })
    ).rejects.toThrow('prometheus: expected a range vector, got a vector')
  })

  it('redacts credentials a server echoes back in its error', async () => {
    await prometheusAnswering(400, {
      status: 'error',
      errorType: 'auth',
      error: 'rejected Bearer tok-9f8e7d'
    })
    const bearer = await instantQuery({ url: stub!.url, bearerTokenEnv: 'T' }, 'up', {
      env: { T: 'tok-9f8e7d' }
    }).then(
      () => new Error('resolved'),
      (reason: Error) => reason
    )
    expect(bearer.message).toBe('prometheus: auth: rejected ***')

    await prometheusAnswering(401, 'bad credentials alice:s3cr3t-pw')
    const basic = await instantQuery({ url: stub!.url, usernameEnv: 'U', passwordEnv: 'P' }, 'up', {
      env: { U: 'alice', P: 's3cr3t-pw' }
    }).then(
      () => new Error('resolved'),
      (reason: Error) => reason
    )
    expect(basic.message).not.toContain('s3cr3t-pw')
    expect(basic.message).not.toContain('alice')
  })

  it('redacts an echoed token before cutting the answer, so no part of it survives the cut', async () => {
    const token = 'tok-0123456789abcdefghij'
    stub = await startStubServer((request, response) =>
      response
        .writeHead(401, { 'content-type': 'text/plain' })
        .end(`${'x'.repeat(180)} ${String(request.headers.authorization)} is not valid`)
    )
    const error = await instantQuery({ url: stub.url, bearerTokenEnv: 'T' }, 'up', {
      env: { T: token }
    }).then(
      () => new Error('resolved'),
      (reason: Error) => reason
    )
    expect(error.message).toMatch(/HTTP 401 Unauthorized: x{180} \*\*\* is not valid$/)
    expect(error.message).not.toContain(token.slice(0, 8))
  })

  it('keeps a header value the HTTP client refuses out of its error', async () => {
    const server = await prometheusAnswering(200, vectorResult(1))
    const error = await instantQuery({ url: server.url, bearerTokenEnv: 'T' }, 'up', {
      env: { T: 'tok-0123456789\nabcdef' }
    }).then(
      () => new Error('resolved'),
      (reason: Error) => reason
    )
    expect(error.message).toMatch(/^prometheus: /)
    expect(error.message).not.toContain('tok-0123')
  })
})
