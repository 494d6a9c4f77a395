import type { PrometheusCheck } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import { formatValue } from '../format.js'
import { instantQuery } from '../prometheus-client.js'
import { renderQuery, templateQuery } from '../templates.js'
import type { CheckOutcome } from './outcome.js'

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
    ? templateQuery(check.template, plan.router, plan.analysis.intervalMs)
    : check.query
  if (!text) throw new Error('the check has neither a query nor a template')
  const { service, namespace, stable, canary } = plan
  return renderQuery(text, { service, namespace, stable, canary, intervalMs: plan.analysis.intervalMs })
}

export async function evaluatePrometheus(
  check: PrometheusCheck,
  env: CheckEnvironment
): Promise<CheckOutcome> {
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
