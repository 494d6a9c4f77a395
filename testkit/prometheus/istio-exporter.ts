import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Histogram, Registry } from 'prom-client'

/** Synthetic traffic of one version of the service. */
export interface TrafficProfile {
  /** Requests per second. */
  rps: number
  /** Share of requests answered 503, 0..1. */
  errorRatio: number
  /** Latency of every request in ms, or [min, max] for a uniform spread. */
  latencyMs: number | [number, number]
  /**
   * Pods serving the version (default 1), each with its own series (label `pod`, `<service>-<version>-<i>`);
   * requests go to them in turn.
   */
  pods?: number
}

export interface IstioExporter {
  /** Base URL; metrics are at `${url}/metrics`. */
  url: string
  /** Starts (or changes) the traffic of a version; rps 0 stops it. */
  setVersion(version: string, profile: TrafficProfile): void
  close(): Promise<void>
}

export interface IstioExporterOptions {
  service?: string
  namespace?: string
  /** How often synthetic requests are added. */
  tickMs?: number
  /**
   * What `destination_service_name` says: the service, versions told apart by `destination_version` (routing by
   * subsets, the default), or each version's own backend Service `<service>-<version>` (Gateway API routes).
   */
  destination?: 'service' | 'backend-service'
  /** Who reports the requests: the destination's sidecar (default), or an ambient mode waypoint. */
  reporter?: 'destination' | 'waypoint'
}

/** Istio's default buckets of istio_request_duration_milliseconds. */
const TELEMETRY_V2_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000
]
/** Mixer-era buckets of istio_request_duration, in seconds. */
const MIXER_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Bounds the work of one tick when a test asks for a large request rate. */
const MAX_REQUESTS_PER_TICK = 2000

interface VersionTraffic {
  profile: TrafficProfile
  /** Fractional requests and errors carried to the next tick, so low rates and ratios come out exact. */
  requestCarry: number
  errorCarry: number
  ticks: number
}

function drawLatency(latency: TrafficProfile['latencyMs']): number {
  if (typeof latency === 'number') return latency
  const [min, max] = latency
  return min + Math.random() * (max - min)
}

/**
 * Serves Istio request metrics for one service, in both the telemetry v2 and the Mixer-era shapes, with
 * traffic the caller controls per version.
 */
export async function startIstioExporter(options: IstioExporterOptions = {}): Promise<IstioExporter> {
  const service = options.service ?? 'reviews'
  const namespace = options.namespace ?? 'default'
  const tickMs = options.tickMs ?? 100
  const reporter = options.reporter ?? 'destination'
  const serviceOf = (version: string) =>
    options.destination === 'backend-service' ? `${service}-${version}` : service
  const fqdn = `${service}.${namespace}.svc.cluster.local`

  const registry = new Registry()
  const v2Labels = [
    'pod',
    'reporter',
    'destination_service_name',
    'destination_service_namespace',
    'destination_version',
    'destination_workload',
    'response_code'
  ] as const
  const requestsTotal = new Counter({
    name: 'istio_requests_total',
    help: 'Requests handled by the server-side proxy.',
    labelNames: v2Labels,
    registers: [registry]
  })
  const durationMs = new Histogram({
    name: 'istio_request_duration_milliseconds',
    help: 'Request duration in milliseconds.',
    labelNames: v2Labels,
    buckets: TELEMETRY_V2_BUCKETS_MS,
    registers: [registry]
  })
  const mixerLabels = ['pod', 'destination_service', 'destination_version', 'response_code'] as const
  const requestCount = new Counter({
    name: 'istio_request_count',
    help: 'Requests reported to Mixer.',
    labelNames: mixerLabels,
    registers: [registry]
  })
  const durationSeconds = new Histogram({
    name: 'istio_request_duration',
    help: 'Request duration in seconds.',
    labelNames: mixerLabels,
    buckets: MIXER_BUCKETS_S,
    registers: [registry]
  })

  const versions = new Map<string, VersionTraffic>()

  function record(
    version: string,
    responseCode: string,
    count: number,
    latency: TrafficProfile['latencyMs'],
    pod: number
  ) {
    if (count === 0) return
    const podName = `${service}-${version}-${pod}`
    const v2 = {
      pod: podName,
      reporter,
      destination_service_name: serviceOf(version),
      destination_service_namespace: namespace,
      destination_version: version,
      destination_workload: `${service}-${version}`,
      response_code: responseCode
    }
    const mixer = {
      pod: podName,
      destination_service: fqdn,
      destination_version: version,
      response_code: responseCode
    }
    // Mixer never knew Gateway API backends: only the subset-style exporter serves its series.
    const mixerToo = options.destination !== 'backend-service'
    requestsTotal.inc(v2, count)
    if (mixerToo) requestCount.inc(mixer, count)
    for (let i = 0; i < count; i++) {
      const ms = drawLatency(latency)
      durationMs.observe(v2, ms)
      if (mixerToo) durationSeconds.observe(mixer, ms / 1000)
    }
  }

  let lastTick = Date.now()
  const ticker = setInterval(() => {
    const now = Date.now()
    const elapsedSeconds = (now - lastTick) / 1000
    lastTick = now
    for (const [version, traffic] of versions) {
      const { rps, errorRatio, latencyMs } = traffic.profile
      traffic.requestCarry += rps * elapsedSeconds
      const requests = Math.min(MAX_REQUESTS_PER_TICK, Math.floor(traffic.requestCarry))
      traffic.requestCarry -= Math.floor(traffic.requestCarry)
      traffic.errorCarry += requests * errorRatio
      const errors = Math.floor(traffic.errorCarry)
      traffic.errorCarry -= errors
      // Each tick's requests go to one pod, in turn.
      const pod = traffic.ticks++ % Math.max(1, traffic.profile.pods ?? 1)
      record(version, '200', requests - errors, latencyMs, pod)
      record(version, '503', errors, latencyMs, pod)
    }
  }, tickMs)

  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end()
      return
    }
    registry.metrics().then(
      text => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error))
    )
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    setVersion(version, profile) {
      const existing = versions.get(version)
      if (existing) existing.profile = profile
      else versions.set(version, { profile, requestCarry: 0, errorCarry: 0, ticks: 0 })
    },
    async close() {
      clearInterval(ticker)
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
