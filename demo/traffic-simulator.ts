/**
 * The traffic simulator: reads the routing of the service from the cluster (the API double), sends a steady
 * stream of synthetic requests, some from the test user (`cookie: user=test-user`), through the routing as
 * Envoy would evaluate it (see routing.ts), to simulated backends whose error rate and latency the caller sets.
 *
 * It records the split it observes, serves the health signals a plan's checks read (an HTTP page, a per-version
 * health endpoint) and, when given an Istio exporter, drives its request counters with the traffic each version
 * received, so a real Prometheus scraping the exporter sees what a mesh would report.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { IstioExporter, TrafficProfile } from '../testkit/prometheus/istio-exporter.js'
import {
  compileRouting,
  routeRequest,
  seededRandom,
  targetLabel,
  type RoutingObjects,
  type RoutingResult,
  type RoutingTable,
  type SimRequest
} from './routing.js'

export interface BackendProfile {
  /** Share of requests the version answers with a 5xx, 0..1. */
  errorRate: number
  /** Latency in ms, or [min, max] for a uniform spread. */
  latencyMs: number | [number, number]
}

export interface TrafficSimulatorOptions {
  service: string
  namespace: string
  versionLabel?: string
  router?: 'VirtualService' | 'RouteRule'
  /** Reads the routing objects of the service (called every tick; should be cheap). */
  readRouting: () => RoutingObjects
  backends: Record<string, BackendProfile>
  /** Synthetic requests per second; default 300. */
  rps?: number
  /** Share of requests that carry the test-user cookie; default 0.1. */
  testUserShare?: number
  tickMs?: number
  seed?: number
  exporter?: IstioExporter
  /** Window of the /health endpoint; default 3000 ms. */
  healthWindowMs?: number
}

export interface Tally {
  requests: number
  errors: number
}

/** Traffic observed while one routing was in effect (or since a mark). */
export interface Segment {
  startedAt: number
  endedAt?: number
  routing: string
  /** Destination label -> requests without the test-user cookie. */
  users: Record<string, Tally>
  /** Destination label -> requests with the test-user cookie. */
  testUser: Record<string, Tally>
}

export interface TrafficSimulator {
  /** Base URL of the HTTP endpoints: /productpage, /health/<version>, /split. */
  url: string
  table(): RoutingTable | undefined
  setBackend(version: string, profile: BackendProfile): void
  /** Starts a new segment now; returns its start time, for `segmentsSince`. */
  mark(): number
  segmentsSince(time: number): Segment[]
  /** Requests per version over the last `windowMs`. */
  recent(windowMs: number): Record<string, Tally>
  close(): Promise<void>
}

export const TEST_USER_COOKIE = 'user=test-user'

interface TickTally {
  at: number
  versions: Record<string, Tally>
}

function add(tallies: Record<string, Tally>, label: string, error: boolean) {
  const tally = (tallies[label] ??= { requests: 0, errors: 0 })
  tally.requests++
  if (error) tally.errors++
}

function text(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body)
}

export async function startTrafficSimulator(options: TrafficSimulatorOptions): Promise<TrafficSimulator> {
  const tickMs = options.tickMs ?? 100
  const rps = options.rps ?? 300
  const testUserShare = options.testUserShare ?? 0.1
  const healthWindowMs = options.healthWindowMs ?? 3000
  const backends = new Map(Object.entries(options.backends))
  const random = seededRandom(options.seed ?? 20170915)
  const compileOptions = {
    service: options.service,
    namespace: options.namespace,
    versionLabel: options.versionLabel,
    router: options.router
  }

  let table: RoutingTable | undefined
  let routingKey = ''
  const segments: Segment[] = []
  const ticks: TickTally[] = []
  const keepTicks = Math.ceil(Math.max(healthWindowMs, 1000) / tickMs) + 2

  const newSegment = (now: number) => {
    const current = segments.at(-1)
    if (current) current.endedAt = now
    segments.push({ startedAt: now, routing: table?.fingerprint ?? '', users: {}, testUser: {} })
    // Bounded memory: a long demo keeps the last few hundred segments.
    if (segments.length > 500) segments.splice(0, segments.length - 500)
  }

  const refreshRouting = (now: number) => {
    let objects: RoutingObjects
    try {
      objects = options.readRouting()
    } catch {
      return // a transient read failure keeps the last routing, as a sidecar keeps its last config
    }
    const key = JSON.stringify(objects)
    if (key === routingKey && table) return
    routingKey = key
    const next = compileRouting(objects, compileOptions)
    if (next.fingerprint !== table?.fingerprint) {
      table = next
      newSegment(now)
    } else table = next
  }

  const respond = (request: SimRequest): { result: RoutingResult; error: boolean } => {
    const result = table ? routeRequest(table, request, random) : { failure: 'no routing yet' }
    const version = result.target?.version
    const backend = version ? backends.get(version) : undefined
    // A version without a backend has no pods to answer (503), as does a request without a destination.
    const error = backend ? random() < backend.errorRate : true
    return { result, error }
  }

  const syntheticRequest = (testUser: boolean, n: number): SimRequest => ({
    path: `/reviews/${n % 10}`,
    method: 'GET',
    authority: `${options.service}:9080`,
    headers: testUser ? { cookie: TEST_USER_COOKIE } : n % 3 === 0 ? {} : { cookie: `session=${n % 97}` }
  })

  let carry = 0
  let sequence = 0
  let lastTick = Date.now()
  const tick = () => {
    const now = Date.now()
    refreshRouting(now)
    carry += (rps * Math.min(now - lastTick, 1000)) / 1000
    lastTick = now
    const count = Math.floor(carry)
    carry -= count
    const tally: TickTally = { at: now, versions: {} }
    const segment = segments.at(-1)
    for (let i = 0; i < count; i++) {
      const testUser = random() < testUserShare
      const { result, error } = respond(syntheticRequest(testUser, sequence++))
      const label = targetLabel(result)
      if (segment) add(testUser ? segment.testUser : segment.users, label, error)
      if (result.target?.version) add(tally.versions, result.target.version, error)
    }
    ticks.push(tally)
    if (ticks.length > keepTicks) ticks.splice(0, ticks.length - keepTicks)
    driveExporter(now)
  }

  const recent = (windowMs: number, now = Date.now()): Record<string, Tally> => {
    const totals: Record<string, Tally> = {}
    for (const entry of ticks) {
      if (entry.at <= now - windowMs) continue
      for (const [version, tally] of Object.entries(entry.versions)) {
        const total = (totals[version] ??= { requests: 0, errors: 0 })
        total.requests += tally.requests
        total.errors += tally.errors
      }
    }
    return totals
  }

  /** The exporter reports, per version, the request rate and error ratio of the last second. */
  const driveExporter = (now: number) => {
    if (!options.exporter) return
    const lastSecond = recent(1000, now)
    for (const [version, backend] of backends) {
      const tally = lastSecond[version]
      const profile: TrafficProfile = {
        rps: tally?.requests ?? 0,
        errorRatio: tally && tally.requests > 0 ? tally.errors / tally.requests : backend.errorRate,
        latencyMs: backend.latencyMs
      }
      options.exporter.setVersion(version, profile)
    }
  }

  const productPage = (request: IncomingMessage, response: ServerResponse) => {
    const headers: Record<string, string> = {}
    if (typeof request.headers.cookie === 'string') headers.cookie = request.headers.cookie
    const { result, error } = respond({ path: '/reviews/0', method: 'GET', headers })
    const served = targetLabel(result)
    const header = { 'x-reviews-version': served }
    if (!result.target) return text(response, result.failure === 'no route' ? 404 : 503, served, header)
    if (error) return text(response, 500, `reviews ${served} answered 503: upstream error\n`, header)
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...header })
      .end(`<html><body><h1>Book Reviews</h1><p>served by reviews ${served}</p></body></html>\n`)
  }

  /** The success rate of one version over the health window; 503 below `min` (default 0.95). */
  const health = (version: string, query: URLSearchParams, response: ServerResponse) => {
    const min = Number(query.get('min') ?? '0.95')
    const tally = recent(healthWindowMs)[version]
    const window = `${healthWindowMs / 1000}s`
    if (!tally || tally.requests === 0)
      return text(response, 200, `${version}: no traffic in the last ${window}\n`)
    const rate = 1 - tally.errors / tally.requests
    const line = `${version}: success rate ${rate.toFixed(3)} over ${tally.requests} requests in the last ${window}\n`
    return text(response, rate >= min ? 200 : 503, line)
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const healthPath = /^\/health\/([^/]+)$/.exec(url.pathname)
    if (url.pathname === '/productpage') return productPage(request, response)
    if (healthPath) return health(decodeURIComponent(healthPath[1]), url.searchParams, response)
    if (url.pathname === '/split') {
      response.writeHead(200, { 'content-type': 'application/json' })
      return response.end(JSON.stringify(segments.at(-1) ?? null))
    }
    return text(response, 404, 'not found\n')
  })
  const sockets = new Set<Socket>()
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  refreshRouting(Date.now())
  const timer = setInterval(tick, tickMs)

  return {
    url,
    table: () => table,
    setBackend(version, profile) {
      backends.set(version, profile)
    },
    mark() {
      const now = Date.now()
      newSegment(now)
      return now
    },
    segmentsSince: time => segments.filter(segment => (segment.endedAt ?? Infinity) > time),
    recent: windowMs => recent(windowMs),
    async close() {
      clearInterval(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
