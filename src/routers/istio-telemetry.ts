/**
 * Istio's standard metrics as PromQL for the built-in templates. The success count falls back to 0
 * (`or on() vector(0)`) so a canary failing every request reads 0, not "no data"; with no requests at all the
 * denominator is empty and the result is still "no data".
 */
import type { PrometheusTemplate, VersionCounter } from '../plan/types.js'

/** telemetry-v2: Istio 1.5+ proxies; mixer: Istio 0.2-1.0 (service as an FQDN, durations in seconds). */
export type IstioTelemetry = 'telemetry-v2' | 'mixer'

/** Upper bounds (ms) of the default buckets of each telemetry's latency histogram. */
export const ISTIO_LATENCY_BUCKETS_MS: Record<IstioTelemetry, readonly number[]> = {
  // istio_request_duration_milliseconds
  'telemetry-v2': [
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
    3600000
  ],
  // istio_request_duration, in seconds: 0.005 .. 10
  mixer: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
}

/** A version's requests as the destination's sidecar reports them, the versions being subsets of one Service. */
function subsetScope(version: string): string {
  return (
    'reporter="destination",destination_service_namespace="$namespace",' +
    `destination_service_name="$service",destination_version="${version}"`
  )
}

export function istioMetricTemplate(
  telemetry: IstioTelemetry,
  template: PrometheusTemplate,
  window: string
): string {
  if (telemetry === 'telemetry-v2') {
    const scope = subsetScope('$canary')
    return template === 'success-rate'
      ? `(sum(rate(istio_requests_total{${scope},response_code!~"5.."}[${window}])) or on() vector(0))` +
          ` / sum(rate(istio_requests_total{${scope}}[${window}]))`
      : `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${scope}}[${window}])))`
  }
  const scope = 'destination_service="$service.$namespace.svc.cluster.local",destination_version="$canary"'
  return template === 'success-rate'
    ? `(sum(rate(istio_request_count{${scope},response_code!~"5.."}[${window}])) or on() vector(0))` +
        ` / sum(rate(istio_request_count{${scope}}[${window}]))`
    : `1000 * histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_bucket{${scope}}[${window}])))`
}

/**
 * A matcher for the bucket `le` label of a bound: exporters write 250 or 250.0 (Prometheus 3 rewrites the
 * former into the latter), so an integer bound matches both.
 */
export function bucketMatcher(bound: number): string {
  const text = String(bound).replace('.', '\\\\.')
  return Number.isInteger(bound) ? `le=~"${text}(\\\\.0)?"` : `le=~"${text}"`
}

interface CounterMetrics {
  requests: string
  latency: string
  /** Latency bucket bounds in milliseconds (telemetry v2) or seconds (Mixer). */
  boundIn: 'ms' | 's'
}

const TELEMETRY_V2_COUNTERS: CounterMetrics = {
  requests: 'istio_requests_total',
  latency: 'istio_request_duration_milliseconds',
  boundIn: 'ms'
}

/** The raw counter series (no rate, no sum) of the requests `scope` selects. */
function counterSeries(metrics: CounterMetrics, counter: VersionCounter, scope: string): string {
  switch (counter.counter) {
    case 'requests':
      return `${metrics.requests}{${scope}}`
    case 'failed-requests':
      return `${metrics.requests}{${scope},response_code=~"5.."}`
    case 'latency-count':
      return `${metrics.latency}_count{${scope}}`
    case 'latency-bucket': {
      const bound = metrics.boundIn === 'ms' ? counter.upperBoundMs : counter.upperBoundMs / 1000
      return `${metrics.latency}_bucket{${scope},${bucketMatcher(bound)}}`
    }
  }
}

/**
 * The raw counter series of a version's requests (no rate, no sum). The version is a Kubernetes label value,
 * which never needs escaping in a PromQL string.
 */
export function istioVersionCounter(
  telemetry: IstioTelemetry,
  counter: VersionCounter,
  version: string
): string {
  if (telemetry === 'telemetry-v2') {
    const scope = subsetScope(version)
    return counterSeries(TELEMETRY_V2_COUNTERS, counter, scope)
  }
  const scope = `destination_service="$service.$namespace.svc.cluster.local",destination_version="${version}"`
  return counterSeries(
    { requests: 'istio_request_count', latency: 'istio_request_duration', boundIn: 's' },
    counter,
    scope
  )
}

/**
 * Gateway API routes, where versions are Services: a version's requests are those to its backend Service. Sidecars
 * report them as `reporter="destination"`, ambient waypoints as `reporter="waypoint"`; a mesh has one or the other
 * in front of a workload, so the two never count the same request twice.
 */
function backendScope(backend: string): string {
  return (
    'reporter=~"destination|waypoint",destination_service_namespace="$namespace",' +
    `destination_service_name="${backend}"`
  )
}

export function backendServiceTemplate(
  template: PrometheusTemplate,
  window: string,
  backend: string
): string {
  const scope = backendScope(backend)
  switch (template) {
    case 'success-rate':
      return (
        `(sum(rate(istio_requests_total{${scope},response_code!~"5.."}[${window}])) or on() vector(0))` +
        ` / sum(rate(istio_requests_total{${scope}}[${window}]))`
      )
    case 'latency-p99':
      return `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${scope}}[${window}])))`
  }
}

/** The raw counter series of the requests to a version's backend Service. */
export function backendServiceCounter(counter: VersionCounter, backend: string): string {
  return counterSeries(TELEMETRY_V2_COUNTERS, counter, backendScope(backend))
}
