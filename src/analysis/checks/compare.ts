/**
 * The `compare` check: canary against stable. `method: mann-whitney` (the default) runs a rank test on the
 * samples since the stage started at every evaluation; `method: sequential` runs a sequential test whose
 * false-rollback rate holds over the whole stage (sequential-compare.ts).
 */
import {
  readDuration,
  readEnum,
  readInteger,
  readNumber,
  refine,
  type Mapping
} from '../../plan/plan-yaml.js'
import type { CheckBase } from '../../plan/types.js'
import type { RouterSyntax } from '../../plan/vocabulary.js'
import { formatDuration } from '../../common/duration.js'
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
  SEQUENTIAL_PLACEHOLDERS,
  SOURCE_KEYS,
  sourceSecrets,
  VERSION_PLACEHOLDERS,
  type PrometheusSource
} from './fields.js'
import { evaluateSequential, sequentialThreshold } from './sequential-compare.js'

export type CompareMethod = 'mann-whitney' | 'sequential'
/** Built-in per-version data of a sequential check: failed requests, or requests slower than a bound. */
export type SequentialTemplate = 'success-rate' | 'slow-requests'

interface CompareSettings extends CheckBase {
  kind: 'compare'
  prometheus: PrometheusSource
  direction: CompareDirection
  tolerance: number
  /** Fewer samples (or requests) than this on a version since the stage started is no data. */
  minSamples: number
}

export interface MannWhitneyCompare extends CompareSettings {
  method: 'mann-whitney'
  /** PromQL with $version, run as a range query once per version. */
  query: string
  confidence: number
}

export interface SequentialCompare extends CompareSettings {
  method: 'sequential'
  /** The chance of a false rollback by this check over a stage. */
  alpha: number
  /** Exactly one of template and query. */
  template?: SequentialTemplate
  /** slow-requests: the bound (a bucket of the router's latency histogram), in ms. */
  slowerThanMs?: number
  /** PromQL with $version (and usually $window): independent observations per interval. */
  query?: string
  /** query: the quantile compared. */
  quantile?: number
}

export type CompareCheck = MannWhitneyCompare | SequentialCompare

const DIRECTIONS: readonly CompareDirection[] = ['increase', 'decrease', 'either']
const METHODS: readonly CompareMethod[] = ['mann-whitney', 'sequential']
const TEMPLATES: readonly SequentialTemplate[] = ['success-rate', 'slow-requests']
const COMPARE_KEYS = [
  'method',
  'prometheus',
  'direction',
  'tolerance',
  'confidence',
  'alpha',
  'minSamples',
  'quantile'
]
const DEFAULT_MIN_SAMPLES = 50

/** Range queries resolve the window into about this many points at most. */
const MAX_POINTS = 250

function compareThreshold(check: CompareCheck): string {
  if (check.method === 'sequential') return sequentialThreshold(check)
  const change = check.direction === 'either' ? 'change' : check.direction
  return `${change} <= ${formatValue(check.tolerance * 100)}% (confidence ${formatValue(check.confidence)})`
}

async function versionSamples(
  check: MannWhitneyCompare,
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

async function evaluateMannWhitney(check: MannWhitneyCompare, env: CheckEnvironment): Promise<CheckOutcome> {
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
    confidence: check.confidence,
    minSamples: check.minSamples
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

const mustContainVersion = (why: string) => (text: string) =>
  text.includes('$version') ? undefined : `must contain $version: ${why}`

/** Refuses, at `key`, a field the chosen method does not take. */
function refuse(mapping: Mapping, keys: readonly string[], why: (key: string) => string): void {
  for (const key of keys) if (mapping.has(key)) mapping.fail(key, why(key))
}

function readSequential(
  compare: Mapping,
  prometheus: Mapping,
  common: CompareSettings,
  router: RouterSyntax
): SequentialCompare {
  refuse(
    compare,
    ['confidence'],
    () =>
      'is for method: mann-whitney; a sequential check takes alpha instead (the chance of a false rollback over the whole stage)'
  )
  if (common.direction !== 'increase' && common.tolerance >= 1) {
    compare.fail(
      'tolerance',
      `must be below 1 with direction ${common.direction} (a change below -100% is impossible); got ${common.tolerance}`
    )
  }
  const alpha = compare.withDefault(
    'alpha',
    refine(readNumber, value =>
      value > 0 && value <= 0.5
        ? undefined
        : `must be greater than 0 and at most 0.5 (e.g. 0.05); got ${value}`
    ),
    0.05
  )
  const sequential: SequentialCompare = { ...common, method: 'sequential', alpha }
  if (prometheus.exactlyOneOf(['template', 'query']) === 'query') {
    refuse(prometheus, ['slowerThan'], () => 'is for template: slow-requests')
    const query = prometheus.required(
      'query',
      refine(readQuery(SEQUENTIAL_PLACEHOLDERS), mustContainVersion(SEQUENTIAL_VERSION_WHY)),
      'PromQL with $version'
    )
    const quantile = compare.withDefault(
      'quantile',
      refine(readNumber, value =>
        value > 0 && value < 1 ? undefined : `must be greater than 0 and less than 1; got ${value}`
      ),
      0.5
    )
    return { ...sequential, query, quantile }
  }
  refuse(
    compare,
    ['quantile'],
    () => "is for a query's samples; the templates compare the versions' shares of requests"
  )
  const template = prometheus.required('template', readEnum(TEMPLATES), 'success-rate or slow-requests')
  if (template === 'success-rate') {
    refuse(prometheus, ['slowerThan'], () => 'is for template: slow-requests')
    return { ...sequential, template }
  }
  // Plans write whole milliseconds: a bucket below 1ms cannot be named.
  const bounds = router.latencyBucketsMs.filter(ms => Number.isInteger(ms))
  const buckets = bounds.map(ms => formatDuration(ms)).join(', ')
  const slowerThanMs = prometheus.required(
    'slowerThan',
    refine(readDuration({ positive: true }), ms =>
      bounds.includes(ms)
        ? undefined
        : `must be an upper bound of a bucket of the router's latency histogram, one of ${buckets}; got ${formatDuration(ms)}`
    ),
    `the latency above which a request is slow, one of the histogram's bucket bounds: ${buckets}`
  )
  return { ...sequential, template, slowerThanMs }
}

const SEQUENTIAL_VERSION_WHY =
  'a sequential check compares the versions, so the query runs once for stable and once for canary with $version replaced'

function readMannWhitney(compare: Mapping, prometheus: Mapping, common: CompareSettings): MannWhitneyCompare {
  refuse(
    compare,
    ['alpha', 'quantile'],
    key =>
      `is for method: sequential; method mann-whitney takes ${key === 'alpha' ? 'confidence' : 'no quantile'}`
  )
  refuse(
    prometheus,
    ['template', 'slowerThan'],
    () => 'needs method: sequential; method mann-whitney takes a query'
  )
  if (common.tolerance <= 0) compare.fail('tolerance', `must be greater than 0; got ${common.tolerance}`)
  const query = prometheus.required(
    'query',
    refine(
      readQuery(VERSION_PLACEHOLDERS),
      mustContainVersion('the query runs once for stable and once for canary with $version replaced')
    ),
    'the PromQL whose samples are compared, with $version'
  )
  return {
    ...common,
    method: 'mann-whitney',
    query,
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
}

export const compareCheck: CheckKindDefinition<CompareCheck> = {
  read(check, name, _head, router) {
    const compare = check.mapping('compare', COMPARE_KEYS)
    if (!compare.has('prometheus')) {
      compare.fail(
        'prometheus',
        'is required: { url, query } of the samples to compare (the query uses $version), or with method: sequential { url, template }'
      )
    }
    const prometheus = compare.mapping('prometheus', [...SOURCE_KEYS, 'query', 'template', 'slowerThan'], {
      forbidden: PROMETHEUS_FORBIDDEN
    })
    const method = compare.withDefault('method', readEnum(METHODS), 'mann-whitney')
    const common: CompareSettings = {
      kind: 'compare',
      name,
      prometheus: readPrometheusSource(prometheus),
      direction: compare.withDefault('direction', readEnum(DIRECTIONS), 'increase'),
      tolerance: compare.withDefault(
        'tolerance',
        refine(readNumber, value => (value >= 0 ? undefined : `must be at least 0; got ${value}`)),
        0.25
      ),
      minSamples: compare.withDefault('minSamples', readInteger(2), DEFAULT_MIN_SAMPLES)
    }
    return method === 'sequential'
      ? readSequential(compare, prometheus, common, router)
      : readMannWhitney(compare, prometheus, common)
  },
  evaluate: (check, env) =>
    check.method === 'sequential' ? evaluateSequential(check, env) : evaluateMannWhitney(check, env),
  threshold: compareThreshold,
  secrets: check => sourceSecrets(check.prometheus, 'compare.prometheus')
}
