/**
 * Istio's standard metrics as PromQL for the built-in templates. The success count falls back to 0
 * (`or on() vector(0)`) so a canary failing every request reads 0, not "no data"; with no requests at all the
 * denominator is empty and the result is still "no data".
 */
import type { PrometheusTemplate } from '../plan/types.js'

/** telemetry-v2: Istio 1.5+ proxies; mixer: Istio 0.2-1.0 (service as an FQDN, durations in seconds). */
export type IstioTelemetry = 'telemetry-v2' | 'mixer'

export function istioMetricTemplate(
  telemetry: IstioTelemetry,
  template: PrometheusTemplate,
  window: string
): string {
  if (telemetry === 'telemetry-v2') {
    const scope =
      'reporter="destination",destination_service_namespace="$namespace",' +
      'destination_service_name="$service",destination_version="$canary"'
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
 * Gateway API routes, where versions are Services: the canary is the requests to its backend Service. Sidecars
 * report them as `reporter="destination"`, ambient waypoints as `reporter="waypoint"`; a mesh has one or the other
 * in front of a workload, so the two never count the same request twice.
 */
export function backendServiceTemplate(
  template: PrometheusTemplate,
  window: string,
  backend: string
): string {
  const scope =
    'reporter=~"destination|waypoint",destination_service_namespace="$namespace",' +
    `destination_service_name="${backend}"`
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
