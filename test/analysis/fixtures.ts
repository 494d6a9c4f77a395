import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CheckEnvironment } from '../../src/analysis/types.js'
import type { Plan } from '../../src/plan/types.js'
import { virtualServiceRouter } from '../../src/routers/virtual-service.js'

export function testPlan(overrides: Partial<Plan> = {}): Plan {
  return {
    service: 'reviews',
    namespace: 'default',
    router: 'VirtualService',
    routing: { objects: [{ name: 'reviews', namespace: 'default' }] },
    stable: 'v1',
    canary: 'v2',
    versionLabel: 'version',
    stages: [{ kind: 'weight', name: '50%', weight: 50 }],
    analysis: {
      intervalMs: 30_000,
      bakeMs: 300_000,
      failureLimit: 1,
      onNoData: 'fail',
      onCancel: 'rollback',
      verifyWindowMs: 90_000,
      checks: []
    },
    ...overrides
  }
}

export function testEnvironment(overrides: Partial<CheckEnvironment> = {}): CheckEnvironment {
  return {
    plan: testPlan(),
    revision: 'v2',
    stageStartedAt: new Date(Date.now() - 600_000),
    now: () => new Date(),
    readCanaryPods: async () => ({ deployments: [{ name: 'reviews-v2', available: true }], maxRestarts: 0 }),
    metricTemplate: (template, window) => virtualServiceRouter.metricTemplate(template, window, testPlan()),
    versionCounter: (counter, version) => virtualServiceRouter.versionCounter(counter, version, testPlan()),
    env: {},
    ...overrides
  }
}

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

export interface StubServer {
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

/** An HTTP server on 127.0.0.1 that records each request and answers it with `respond`. */
export async function startStubServer(
  respond: (request: RecordedRequest, response: ServerResponse) => void
): Promise<StubServer> {
  const requests: RecordedRequest[] = []
  const server = createServer((incoming, response) => {
    let body = ''
    incoming.on('data', (chunk: Buffer) => (body += chunk.toString()))
    incoming.on('end', () => {
      const request = {
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        headers: incoming.headers,
        body
      }
      requests.push(request)
      respond(request, response)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** A Prometheus instant-query answer with one sample per value (a string such as "NaN" goes as is). */
export function vectorResult(...values: (number | string)[]) {
  return {
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map((value, index) => ({
        metric: { series: String(index) },
        value: [1700000000, String(value)]
      }))
    }
  }
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}
