import { readEnum, readNumber, refine } from '../../plan/plan-yaml.js'
import type { CheckBase, PrometheusTemplate } from '../../plan/types.js'
import { formatValue } from '../format.js'
import { instantQuery } from '../prometheus-client.js'
import { rateWindow, renderQuery } from '../templates.js'
import type { CheckEnvironment } from '../types.js'
import type { CheckKindDefinition } from './check-kind.js'
import {
  PROMETHEUS_FORBIDDEN,
  QUERY_PLACEHOLDERS,
  readPrometheusSource,
  readQuery,
  SOURCE_KEYS,
  sourceSecrets,
  type PrometheusSource
} from './fields.js'

export interface PrometheusCheck extends CheckBase {
  kind: 'prometheus'
  prometheus: PrometheusSource
  /** Exactly one of query / template is set. */
  query?: string
  template?: PrometheusTemplate
  min?: number
  max?: number
}

const TEMPLATES: readonly PrometheusTemplate[] = ['success-rate', 'latency-p99']

const readRatio = refine(readNumber, value =>
  value >= 0 && value <= 1
    ? undefined
    : `the success-rate template is a ratio from 0 to 1 (write 0.99 for 99%); got ${value}`
)

export function prometheusThreshold(check: Pick<PrometheusCheck, 'min' | 'max'>): string {
  const { min, max } = check
  if (min !== undefined && max !== undefined) return `in [${min}, ${max}]`
  if (min !== undefined) return `>= ${min}`
  if (max !== undefined) return `<= ${max}`
  return 'any value'
}

/** The PromQL a prometheus check runs, placeholders filled in. */
export function prometheusCheckQuery(check: PrometheusCheck, env: CheckEnvironment): string {
  const { plan } = env
  const text = check.template
    ? env.metricTemplate(check.template, rateWindow(plan.analysis.intervalMs))
    : check.query
  if (!text) throw new Error('the check has neither a query nor a template')
  const { service, namespace, stable, canary } = plan
  return renderQuery(text, { service, namespace, stable, canary, intervalMs: plan.analysis.intervalMs })
}

export const prometheusCheck: CheckKindDefinition<PrometheusCheck> = {
  read(check, name) {
    const prometheus = check.mapping('prometheus', [...SOURCE_KEYS, 'query', 'template', 'min', 'max'], {
      forbidden: PROMETHEUS_FORBIDDEN
    })
    const source = readPrometheusSource(prometheus)
    const queryKind = prometheus.exactlyOneOf(['query', 'template'])
    const query =
      queryKind === 'query' ? prometheus.optional('query', readQuery(QUERY_PLACEHOLDERS)) : undefined
    const template =
      queryKind === 'template' ? prometheus.optional('template', readEnum(TEMPLATES)) : undefined
    const bounds = template === 'success-rate' ? readRatio : readNumber
    const min = prometheus.optional('min', bounds)
    const max = prometheus.optional('max', bounds)
    if (min === undefined && max === undefined) {
      check.fail('prometheus', 'needs min, max or both: the bounds a healthy value stays within')
    }
    if (min !== undefined && max !== undefined && min > max) {
      prometheus.fail('min', `must not be greater than max (${max}); got ${min}`)
    }
    return {
      kind: 'prometheus',
      name,
      prometheus: source,
      ...(query !== undefined && { query }),
      ...(template !== undefined && { template }),
      ...(min !== undefined && { min }),
      ...(max !== undefined && { max })
    }
  },
  threshold: prometheusThreshold,
  secrets: check => sourceSecrets(check.prometheus, 'prometheus'),
  async evaluate(check, env) {
    const samples = await instantQuery(check.prometheus, prometheusCheckQuery(check, env), {
      signal: env.signal,
      env: env.env
    })
    if (samples.length === 0)
      return { value: null, verdict: 'nodata', message: 'the query returned no samples' }
    if (samples.length > 1) {
      return {
        value: null,
        verdict: 'fail',
        message: `the query returned ${samples.length} series; aggregate it to one (e.g. with sum)`
      }
    }
    const { value } = samples[0]
    if (Number.isNaN(value)) return { value: null, verdict: 'nodata', message: 'the query returned NaN' }
    const tooLow = check.min !== undefined && value < check.min
    const tooHigh = check.max !== undefined && value > check.max
    const shown = formatValue(value)
    if (tooLow) return { value, verdict: 'fail', message: `${shown} is below the minimum ${check.min}` }
    if (tooHigh) return { value, verdict: 'fail', message: `${shown} is above the maximum ${check.max}` }
    return { value, verdict: 'pass', message: `${shown} ${prometheusThreshold(check)}` }
  }
}
