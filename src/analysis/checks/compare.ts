import type { CompareCheck } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import { formatValue } from '../format.js'
import { compareVerdict } from '../mann-whitney.js'
import { rangeQuery } from '../prometheus-client.js'
import { renderQuery } from '../templates.js'
import type { CheckOutcome } from './outcome.js'

/** Range queries resolve the window into about this many points at most. */
const MAX_POINTS = 250

export function compareThreshold(check: CompareCheck): string {
  const change = check.direction === 'either' ? 'change' : check.direction
  return `${change} <= ${formatValue(check.tolerance * 100)}% (confidence ${formatValue(check.confidence)})`
}

async function versionSamples(
  check: CompareCheck,
  env: CheckEnvironment,
  version: string,
  window: { start: Date; end: Date; stepSeconds: number }
): Promise<number[]> {
  const { service, namespace, stable, canary, analysis } = env.plan
  const promql = renderQuery(check.query, {
    service,
    namespace,
    stable,
    canary,
    version,
    intervalMs: analysis.intervalMs
  })
  const series = await rangeQuery(check.prometheus, promql, { ...window, signal: env.signal, env: env.env })
  return series.flatMap(({ values }) => values.map(([, value]) => value)).filter(Number.isFinite)
}

export async function evaluateCompare(check: CompareCheck, env: CheckEnvironment): Promise<CheckOutcome> {
  const start = env.stageStartedAt
  const end = env.now()
  const windowSeconds = Math.max(0, (end.getTime() - start.getTime()) / 1000)
  const window = { start, end, stepSeconds: Math.max(1, windowSeconds / MAX_POINTS) }
  const [canary, stable] = await Promise.all([
    versionSamples(check, env, env.plan.canary, window),
    versionSamples(check, env, env.plan.stable, window)
  ])
  const result = compareVerdict({
    canary,
    stable,
    direction: check.direction,
    tolerance: check.tolerance,
    confidence: check.confidence
  })
  const details = {
    u: result.u,
    p: result.p,
    effectSize: result.effectSize,
    canarySamples: result.canarySamples,
    stableSamples: result.stableSamples
  }
  const value = result.verdict === 'nodata' ? null : result.effectSize
  return { value, verdict: result.verdict, message: result.message, details }
}
