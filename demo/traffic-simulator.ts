/**
 * The traffic simulator: reads the routing of the service from the cluster (the API double) and sends a steady
 * stream of requests from a population of users (users.ts) through it, as the proxies at each entry point would
 * evaluate it (routing.ts), to simulated backends whose error rate and latency the caller sets. Mirrored copies
 * reach their backend too, but their answers are discarded: the user is served by the primary destination.
 * Cookies the routing sets come back with the user's later requests.
 *
 * It records what it observes in segments (segments.ts), serves the health signals a plan's checks read (an
 * HTTP page, a per-version health endpoint) and, when given an Istio exporter, drives its request counters with
 * the requests each version answered (mirrored copies included, as the canary's own proxy reports them), so a
 * real Prometheus scraping the exporter sees what a mesh would report.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { IstioExporter, TrafficProfile } from '../testkit/prometheus/istio-exporter.js'
import { createRandom } from '../testkit/random.js'
import type { RouterKind } from './plans.js'
import { compileRouting, type RoutingObjects } from './routing.js'
import {
  routeRequest,
  targetLabel,
  type RoutingResult,
  type RoutingTable,
  type SimRequest
} from './route-table.js'
import {
  addTally,
  emptySegment,
  mergeTallies,
  segmentRecorder,
  type Segment,
  type Tally
} from './segments.js'
import { carriedCookies, cookieHeader, createUsers, storeCookie, type SimUser } from './users.js'
import { MESH, type EntryPoint } from './virtual-service-routing.js'

export interface BackendProfile {
  /** Share of requests the version answers with a 5xx, 0..1. */
  errorRate: number
  /** Latency in ms, or [min, max] for a uniform spread. */
  latencyMs: number | [number, number]
}

/** Where some of the users' requests enter, and what they ask for. */
export interface TrafficEntry {
  /** How segments and the output name it, e.g. `mesh`, `ingress`. */
  name: string
  entry: EntryPoint
  authority: string
  /** Requests go to `<pathPrefix>/<n>`. */
  pathPrefix: string
  /** Share of the users who come this way; the shares of all entries sum to 1. */
  share: number
}

export interface TrafficSimulatorOptions {
  service: string
  namespace: string
  versionLabel?: string
  router?: RouterKind
  /** Reads the routing objects of the service (called every tick; should be cheap). */
  readRouting: () => RoutingObjects
  backends: Record<string, BackendProfile>
  /** Default: every user calls `<service>:9080/reviews/<n>` from inside the mesh. */
  entries?: TrafficEntry[]
  /** Synthetic requests per second; default 300. */
  rps?: number
  /** How many users send them; default 1000. */
  users?: number
  /** Share of users who carry the test-user cookie; default 0.1. */
  testUserShare?: number
  tickMs?: number
  seed?: number
  exporter?: IstioExporter
  /** Window of the /health endpoint; default 3000 ms. */
  healthWindowMs?: number
}

export type { Segment, Tally } from './segments.js'

export interface TrafficSimulator {
  /** Base URL of the HTTP endpoints: /productpage, /health/<version>, /split. */
  url: string
  /** The entry points, in order. */
  entries: string[]
  /** The routing table of each entry point. */
  tables(): Record<string, RoutingTable>
  setBackend(version: string, profile: BackendProfile): void
  /** Starts a new segment now; returns its start time, for `segmentsSince`. */
  mark(): number
  segmentsSince(time: number): Segment[]
  /** Requests each version answered (mirrored copies included) over the last `windowMs`. */
  recent(windowMs: number): Record<string, Tally>
  close(): Promise<void>
}

interface TickTally {
  at: number
  versions: Record<string, Tally>
}

function text(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body)
}

export async function startTrafficSimulator(options: TrafficSimulatorOptions): Promise<TrafficSimulator> {
  const tickMs = options.tickMs ?? 100
  const rps = options.rps ?? 300
  const healthWindowMs = options.healthWindowMs ?? 3000
  const entries = options.entries ?? [
    { name: 'mesh', entry: MESH, authority: `${options.service}:9080`, pathPrefix: '/reviews', share: 1 }
  ]
  const backends = new Map(Object.entries(options.backends))
  const random = createRandom(options.seed ?? 20170915).uniform
  const users = createUsers(
    options.users ?? 1000,
    options.testUserShare ?? 0.1,
    entries.map(entry => entry.share),
    random
  )
  const record = segmentRecorder()

  let tables: Record<string, RoutingTable> = {}
  let fingerprint = ''
  let routingKey = ''
  const segments: Segment[] = []
  const ticks: TickTally[] = []
  const keepTicks = Math.ceil(Math.max(healthWindowMs, 1000) / tickMs) + 2

  const newSegment = (now: number) => {
    const current = segments.at(-1)
    if (current) current.endedAt = now
    segments.push(
      emptySegment(
        now,
        fingerprint,
        entries.map(entry => entry.name)
      )
    )
    // Bounded memory: a long demo keeps the last few hundred segments.
    if (segments.length > 500) segments.splice(0, segments.length - 500)
  }

  const refreshRouting = (now: number) => {
    let objects: RoutingObjects
    try {
      objects = options.readRouting()
    } catch {
      return // a transient read failure keeps the last routing, as a proxy keeps its last config
    }
    const key = JSON.stringify(objects)
    if (key === routingKey) return
    routingKey = key
    tables = Object.fromEntries(
      entries.map(({ name, entry }) => [
        name,
        compileRouting(objects, {
          service: options.service,
          namespace: options.namespace,
          versionLabel: options.versionLabel,
          router: options.router,
          entry
        })
      ])
    )
    const next = JSON.stringify(entries.map(({ name }) => tables[name].fingerprint))
    if (next !== fingerprint) {
      fingerprint = next
      newSegment(now)
    }
  }

  /** Whether the backend of a version answers this one with a 5xx; a version without a backend has no pods. */
  const fails = (version: string | undefined) => {
    const backend = version ? backends.get(version) : undefined
    return backend ? random() < backend.errorRate : true
  }

  const serve = (entryName: string, request: SimRequest) => {
    const table = tables[entryName]
    const result: RoutingResult = table ? routeRequest(table, request, random) : { failure: 'no routing yet' }
    return {
      result,
      error: fails(result.target?.version),
      mirrorError: result.mirror ? fails(result.mirror.version) : false
    }
  }

  let carry = 0
  let sequence = 0
  let lastTick = Date.now()

  const sendOne = (user: SimUser, now: number, tally: TickTally, segment: Segment | undefined) => {
    const point = entries[user.entry]
    const cookie = cookieHeader(user, now)
    const carried = carriedCookies(user, now)
    const { result, error, mirrorError } = serve(point.name, {
      path: `${point.pathPrefix}/${sequence++ % 10}`,
      method: 'GET',
      authority: point.authority,
      headers: cookie ? { cookie } : {}
    })
    for (const setCookie of result.setCookies ?? []) storeCookie(user, setCookie, now)
    if (result.target?.version) addTally(tally.versions, result.target.version, error)
    if (result.mirror?.version) addTally(tally.versions, result.mirror.version, mirrorError)
    if (segment) {
      const label = targetLabel(result)
      record(segment, {
        entry: point.name,
        testUser: user.testUser,
        userId: user.id,
        carried,
        result,
        label,
        error,
        mirrorError
      })
    }
  }

  const tick = () => {
    const now = Date.now()
    refreshRouting(now)
    carry += (rps * Math.min(now - lastTick, 1000)) / 1000
    lastTick = now
    const count = Math.floor(carry)
    carry -= count
    const tally: TickTally = { at: now, versions: {} }
    const segment = segments.at(-1)
    for (let i = 0; i < count; i++) sendOne(users[Math.floor(random() * users.length)], now, tally, segment)
    ticks.push(tally)
    if (ticks.length > keepTicks) ticks.splice(0, ticks.length - keepTicks)
    driveExporter(now)
  }

  const recent = (windowMs: number, now = Date.now()): Record<string, Tally> =>
    mergeTallies(...ticks.filter(entry => entry.at > now - windowMs).map(entry => entry.versions))

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

  /** The product page of the first entry point, for the caller's own cookie. */
  const productPage = (request: IncomingMessage, response: ServerResponse) => {
    const headers: Record<string, string> = {}
    if (typeof request.headers.cookie === 'string') headers.cookie = request.headers.cookie
    const [first] = entries
    const { result, error } = serve(first.name, {
      path: `${first.pathPrefix}/0`,
      method: 'GET',
      authority: first.authority,
      headers
    })
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
    entries: entries.map(entry => entry.name),
    tables: () => tables,
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
