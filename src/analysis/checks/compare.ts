import { readEnum, readNumber, refine } from '../../plan/plan-yaml.js'
import type { CheckBase } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import { formatValue } from '../format.js'
import { compareVerdict, type CompareDirection } from '../mann-whitney.js'
import { rangeQuery } from '../prometheus-client.js'
import { renderQuery } from '../templates.js'
import type { CheckKindDefinition, CheckOutcome } from './check-kind.js'
import {
  PROMETHEUS_FORBIDDEN,
  readPrometheusSource,
  readQuery,
  SOURCE_KEYS,
  sourceSecrets,
  VERSION_PLACEHOLDERS,
  type PrometheusSource
} from './fields.js'

export interface CompareCheck extends CheckBase {
  kind: 'compare'
  prometheus: PrometheusSource
  /** PromQL with $version, run as a range query once per version. */
  query: string
  direction: CompareDirection
  tolerance: number
  confidence: number
}

const DIRECTIONS: readonly CompareDirection[] = ['increase', 'decrease', 'either']

/** Range queries resolve the window into about this many points at most. */
const MAX_POINTS = 250

function compareThreshold(check: CompareCheck): string {
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

async function evaluateCompare(check: CompareCheck, env: CheckEnvironment): Promise<CheckOutcome> {
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

export const compareCheck: CheckKindDefinition<CompareCheck> = {
  read(check, name) {
    const compare = check.mapping('compare', ['prometheus', 'direction', 'tolerance', 'confidence'])
    if (!compare.has('prometheus')) {
      compare.fail(
        'prometheus',
        'is required: { url, query } of the samples to compare; the query uses $version'
      )
    }
    const prometheus = compare.mapping('prometheus', [...SOURCE_KEYS, 'query'], {
      forbidden: PROMETHEUS_FORBIDDEN
    })
    const source = readPrometheusSource(prometheus)
    const query = prometheus.required(
      'query',
      refine(readQuery(VERSION_PLACEHOLDERS), text =>
        text.includes('$version')
          ? undefined
          : 'must contain $version: the query runs once for stable and once for canary with $version replaced'
      ),
      'the PromQL whose samples are compared, with $version'
    )
    return {
      kind: 'compare',
      name,
      prometheus: source,
      query,
      direction: compare.withDefault('direction', readEnum(DIRECTIONS), 'increase'),
      tolerance: compare.withDefault(
        'tolerance',
        refine(readNumber, value => (value > 0 ? undefined : `must be greater than 0; got ${value}`)),
        0.25
      ),
      confidence: compare.withDefault(
        'confidence',
        refine(readNumber, value =>
          value > 0.5 && value < 1
            ? undefined
            : `must be greater than 0.5 and less than 1 (e.g. 0.98); got ${value}`
        ),
        0.98
      )
    }
  },
  evaluate: evaluateCompare,
  threshold: compareThreshold,
  secrets: check => sourceSecrets(check.prometheus, 'compare.prometheus')
}
