import type { PrometheusTemplate, RouterKind } from '../plan/types.js'
import { formatDuration } from './format.js'

/** Values for the query placeholders; `version` exists only for compare queries. */
export interface QueryVariables {
  service: string
  namespace: string
  stable: string
  canary: string
  version?: string
  intervalMs: number
}

const PLACEHOLDER = /\$(service|namespace|stable|canary|version|interval)\b/g

/** Substitutes `$service $namespace $stable $canary $version $interval` in a PromQL text. */
export function renderQuery(text: string, vars: QueryVariables): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    if (name === 'interval') return formatDuration(vars.intervalMs)
    const value = vars[name as Exclude<keyof QueryVariables, 'intervalMs'>]
    if (value === undefined) throw new Error(`$${name} is only available in compare queries`)
    return value
  })
}

/**
 * Rate window of the templates. rate() needs at least two samples inside its window; with the common
 * scrape intervals (15s-30s) a window shorter than a minute can hold fewer, and the query returns nothing.
 */
export function rateWindowMs(intervalMs: number): number {
  return Math.max(intervalMs, 60_000)
}

/**
 * Istio telemetry v2 (1.5+): the server-side proxy reports, labels name service, namespace and version.
 * The success count falls back to 0 (`or on() vector(0)`) so a canary failing every request reads 0, not "no
 * data"; with no requests at all the denominator is empty and the result is still "no data".
 */
function telemetryV2(template: PrometheusTemplate, window: string): string {
  const scope =
    'reporter="destination",destination_service_namespace="$namespace",' +
    'destination_service_name="$service",destination_version="$canary"'
  if (template === 'success-rate') {
    return (
      `(sum(rate(istio_requests_total{${scope},response_code!~"5.."}[${window}])) or on() vector(0))` +
      ` / sum(rate(istio_requests_total{${scope}}[${window}]))`
    )
  }
  return `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${scope}}[${window}])))`
}

/** Mixer-era metrics (Istio 0.2-1.0): the service is a FQDN and durations are in seconds. */
function mixer(template: PrometheusTemplate, window: string): string {
  const scope = 'destination_service="$service.$namespace.svc.cluster.local",destination_version="$canary"'
  if (template === 'success-rate') {
    return (
      `(sum(rate(istio_request_count{${scope},response_code!~"5.."}[${window}])) or on() vector(0))` +
      ` / sum(rate(istio_request_count{${scope}}[${window}]))`
    )
  }
  return `1000 * histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_bucket{${scope}}[${window}])))`
}

/**
 * PromQL of a built-in template for the plan's router, placeholders still in it:
 * `success-rate` is the share of non-5xx responses of the canary, `latency-p99` its p99 in milliseconds.
 */
export function templateQuery(template: PrometheusTemplate, router: RouterKind, intervalMs: number): string {
  const window = formatDuration(rateWindowMs(intervalMs))
  return router === 'VirtualService' ? telemetryV2(template, window) : mixer(template, window)
}
