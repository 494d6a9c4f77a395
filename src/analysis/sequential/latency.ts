import { formatValue } from '../format.js'
import { logBinomialEValue, ratioBoundary, type BinomialTrials, type Side } from './e-process.js'
import { boundsText, judge, judgementFields, type SequentialResult } from './judgement.js'
import { resolveSequentialOptions, sequentialOptionsProblem, type SequentialOptions } from './options.js'

/** The samples each version produced during one interval (not since the stage started). */
export interface LatencyInterval {
  canary: readonly number[]
  stable: readonly number[]
}

export interface LatencyTestOptions extends SequentialOptions {
  /**
   * Which part of the distribution is compared: in every interval, the samples above this quantile of the
   * two versions' samples pooled are counted. In (0, 1); default 0.5 (the median).
   */
  quantile?: number
}

/** An interval's samples sorted ascending. */
export interface SortedLatencyInterval {
  canary: Float64Array
  stable: Float64Array
}

// Sorting is the only costly step and every evaluation sees the earlier intervals again.
const sortedIntervals = new WeakMap<LatencyInterval, SortedLatencyInterval>()

function sortedSamples(values: readonly number[], where: string): Float64Array {
  for (const value of values) {
    if (!(Number.isFinite(value) && value >= 0))
      throw new RangeError(`${where}: samples must be finite and not negative, got ${value}`)
  }
  return Float64Array.from(values).sort()
}

function sorted(interval: LatencyInterval, index: number): SortedLatencyInterval {
  let entry = sortedIntervals.get(interval)
  if (!entry) {
    entry = {
      canary: sortedSamples(interval.canary, `interval ${index + 1} canary`),
      stable: sortedSamples(interval.stable, `interval ${index + 1} stable`)
    }
    sortedIntervals.set(interval, entry)
  }
  return entry
}

/** How many of the ascending `values`, divided by `scale`, are above `threshold`. */
function countAbove(values: Float64Array, scale: number, threshold: number): number {
  let low = 0
  let high = values.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (values[middle] / scale > threshold) high = middle
    else low = middle + 1
  }
  return values.length - low
}

/** The k-th smallest (1-based) of the canary samples divided by `scale` and the stable samples, pooled. */
function pooledOrderStatistic(canary: Float64Array, scale: number, stable: Float64Array, k: number): number {
  // Binary search on how many of the k smallest come from the canary.
  // Plain comparisons rather than Math.min/max: this runs thousands of times per evaluation.
  let low = k > stable.length ? k - stable.length : 0
  let high = k < canary.length ? k : canary.length
  while (low < high) {
    const fromCanary = (low + high) >> 1
    if (canary[fromCanary] / scale < stable[k - fromCanary - 1]) low = fromCanary + 1
    else high = fromCanary
  }
  const fromStable = k - low
  const lastCanary = low > 0 ? canary[low - 1] / scale : -Infinity
  const lastStable = fromStable > 0 ? stable[fromStable - 1] : -Infinity
  return lastCanary > lastStable ? lastCanary : lastStable
}

/** One interval's samples above the pooled threshold. */
export interface Exceedances {
  canaryAbove: number
  canarySamples: number
  pooledAbove: number
  pooledSamples: number
}

/**
 * One interval at the null "canary = scale × stable in distribution": the threshold is the pooled quantile
 * of canary/scale and stable samples, and the counts are the samples above it. Under that null the samples
 * are exchangeable, so the threshold favours neither version and the canary's count is hypergeometric.
 */
export function exceedances(interval: SortedLatencyInterval, scale: number, quantile: number): Exceedances {
  const { canary, stable } = interval
  const pooledSamples = canary.length + stable.length
  if (pooledSamples === 0) return { canaryAbove: 0, canarySamples: 0, pooledAbove: 0, pooledSamples: 0 }
  const rank = Math.ceil(quantile * pooledSamples)
  const k = rank < 1 ? 1 : rank > pooledSamples ? pooledSamples : rank
  const threshold = pooledOrderStatistic(canary, scale, stable, k)
  const canaryAbove = countAbove(canary, scale, threshold)
  return {
    canaryAbove,
    canarySamples: canary.length,
    pooledAbove: canaryAbove + countAbove(stable, 1, threshold),
    pooledSamples
  }
}

/**
 * The hypergeometric count as binomial trials, for the e-process: it is less spread than both binomials
 * with its mean (Hoeffding, 1963), so either gives a valid factor. The one with fewer trials, m, is the
 * closer: its variance is too large by 1/(1 - m/N), where the other's would be twice the right one at the
 * median.
 */
export function exceedanceTrials(counts: Exceedances): BinomialTrials {
  const { canaryAbove, canarySamples, pooledAbove, pooledSamples } = counts
  if (pooledSamples === 0) return { successes: 0, trials: 0, nullProbability: 0 }
  return canarySamples <= pooledAbove
    ? { successes: canaryAbove, trials: canarySamples, nullProbability: pooledAbove / pooledSamples }
    : { successes: canaryAbove, trials: pooledAbove, nullProbability: canarySamples / pooledSamples }
}

/**
 * The scale at which the canary's exceedances match what the split of samples predicts: a median-test
 * (Hodges-Lehmann style) estimate of canary / stable. null without samples on both versions.
 */
function scaleEstimate(intervals: readonly SortedLatencyInterval[], quantile: number): number | null {
  const informative = intervals.filter(({ canary, stable }) => canary.length > 0 && stable.length > 0)
  if (informative.length === 0) return null
  const excess = (scale: number) =>
    informative.reduce((sum, interval) => {
      const counts = exceedances(interval, scale, quantile)
      return sum + counts.canaryAbove - (counts.pooledAbove * counts.canarySamples) / counts.pooledSamples
    }, 0)
  return ratioBoundary(scale => excess(scale) > 0, true)
}

function formatChange(ratio: number): string {
  if (ratio === Infinity) return '+Infinity%'
  const percent = Number(((ratio - 1) * 100).toPrecision(3))
  return `${percent > 0 ? '+' : ''}${formatValue(percent)}%`
}

/**
 * Sequential test of the canary's latency (or any non-negative metric) against the stable's, to be called
 * at every evaluation with the samples of every interval so far. Rejects when the canary is slower than
 * (1 + tolerance) times the stable at the chosen quantile (`increase`; mirrored for `decrease`), with a
 * chance of at most `alpha` of ever doing so over the stage when it is not. The samples must be
 * independent observations (one per request, or per non-overlapping window), never a rolling aggregate.
 * Intervals are read once and cached: do not change their arrays afterwards.
 */
export function sequentialLatencyTest(
  intervals: readonly LatencyInterval[],
  options: LatencyTestOptions = {}
): SequentialResult {
  const problem = sequentialOptionsProblem(options)
  if (problem) throw new RangeError(problem)
  const { quantile = 0.5, ...rest } = options
  const resolved = resolveSequentialOptions(rest)
  const prepared = intervals.map(sorted)
  const evidence = (scale: number, side: Side) =>
    logBinomialEValue(
      prepared.map(interval => exceedanceTrials(exceedances(interval, scale, quantile))),
      side
    )
  const judgement = judge(evidence, resolved)
  const estimate = resolved.verdictOnly ? null : scaleEstimate(prepared, quantile)
  const canarySamples = prepared.reduce((sum, interval) => sum + interval.canary.length, 0)
  const stableSamples = prepared.reduce((sum, interval) => sum + interval.stable.length, 0)
  const enough = canarySamples >= resolved.minSamples && stableSamples >= resolved.minSamples
  const verdict = !enough ? 'nodata' : judgement.rejected ? 'reject' : 'continue'

  const where = quantile === 0.5 ? 'median' : `quantile ${formatValue(quantile)}`
  const change = resolved.verdictOnly
    ? `canary vs stable at the ${where}`
    : estimate === null
      ? 'no samples on a version yet'
      : `canary vs stable at the ${where} ${formatChange(estimate)}${boundsText(judgement, formatChange)}`
  const evidenceText = `log e-value ${judgement.logEValue.toFixed(2)} of ${judgement.logThreshold.toFixed(2)}, n=${canarySamples}/${stableSamples}`
  const why =
    verdict === 'nodata'
      ? `; fewer than ${resolved.minSamples} samples on a version`
      : verdict === 'reject'
        ? `: ${resolved.direction === 'either' ? 'changed' : resolved.direction} beyond ${formatValue(resolved.tolerance * 100)}%`
        : ''
  return {
    verdict,
    estimate,
    ...judgementFields(judgement),
    canarySamples,
    stableSamples,
    message: `${change}, ${evidenceText}${why}`
  }
}
