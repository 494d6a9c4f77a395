import { errorFunction, median } from 'simple-statistics'
import type { Verdict } from './types.js'
import { formatValue } from './format.js'

/** Which change of the canary is bad. */
export type CompareDirection = 'increase' | 'decrease' | 'either'

export interface MannWhitneyResult {
  /** U statistic of the canary sample: how often a canary value exceeds a stable one (ties count half). */
  u: number
  /** Standard score of u, continuity-corrected towards zero. */
  z: number
  pTwoSided: number
  /** p-value for "canary values tend to be greater than stable ones". */
  pGreater: number
  /** p-value for "canary values tend to be smaller than stable ones". */
  pLess: number
  n1: number
  n2: number
}

function standardNormalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2))
}

function sortedCopy(values: number[]): Float64Array {
  // A typed array sorts numerically and much faster than Array.prototype.sort with a comparator.
  return Float64Array.from(values).sort()
}

/**
 * Mann-Whitney U test of `canary` against `stable` with the normal approximation: average ranks for ties,
 * tie-corrected variance and a continuity correction of 0.5. Values must be finite numbers.
 */
export function mannWhitneyU(canary: number[], stable: number[]): MannWhitneyResult {
  const n1 = canary.length
  const n2 = stable.length
  const a = sortedCopy(canary)
  const b = sortedCopy(stable)
  const total = n1 + n2

  // Walk both sorted samples at once, one group of equal values at a time.
  let canaryRankSum = 0
  let tieTerm = 0
  let i = 0
  let j = 0
  let ranked = 0
  while (i < n1 || j < n2) {
    const value = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j]
    let inCanary = 0
    while (i < n1 && a[i] === value) {
      i++
      inCanary++
    }
    let inStable = 0
    while (j < n2 && b[j] === value) {
      j++
      inStable++
    }
    const tied = inCanary + inStable
    const averageRank = ranked + (tied + 1) / 2
    canaryRankSum += inCanary * averageRank
    tieTerm += tied ** 3 - tied
    ranked += tied
  }

  const u = canaryRankSum - (n1 * (n1 + 1)) / 2
  const mean = (n1 * n2) / 2
  const variance = total > 1 ? ((n1 * n2) / 12) * (total + 1 - tieTerm / (total * (total - 1))) : 0
  if (!(variance > 0)) return { u, z: 0, pTwoSided: 1, pGreater: 1, pLess: 1, n1, n2 }

  const sd = Math.sqrt(variance)
  const deviation = u - mean
  const pGreater = 1 - standardNormalCdf((deviation - 0.5) / sd)
  const pLess = standardNormalCdf((deviation + 0.5) / sd)
  const z = (Math.sign(deviation) * Math.max(0, Math.abs(deviation) - 0.5)) / sd
  const pTwoSided = Math.min(1, 2 * (1 - standardNormalCdf(Math.abs(z))))
  return { u, z, pTwoSided, pGreater, pLess, n1, n2 }
}

/** The fewest samples per side the normal approximation needs; the compare check's own default is higher. */
export const MIN_COMPARE_SAMPLES = 10

export interface CompareInput {
  canary: number[]
  stable: number[]
  /** Which change is bad. */
  direction: CompareDirection
  /** Largest acceptable relative change of the median in the bad direction, e.g. 0.25. */
  tolerance: number
  /** e.g. 0.98: a change counts only when its p-value is below 1 - confidence. */
  confidence: number
  /** Fewer samples than this on either side give no verdict; default MIN_COMPARE_SAMPLES. */
  minSamples?: number
}

export interface CompareResult {
  verdict: Verdict
  message: string
  u: number
  /** p-value of the test in the bad direction. */
  p: number
  effectSize: number
  canarySamples: number
  stableSamples: number
}

/**
 * Relative effect size: the change of the median relative to the stable median. Medians (not means) match
 * the rank test, which is about location, and are robust to the latency spikes typical of these metrics.
 * A zero stable median gives 0 when both medians are 0 and ±Infinity otherwise.
 */
export function relativeEffectSize(canary: number[], stable: number[]): number {
  const canaryMedian = median(canary)
  const stableMedian = median(stable)
  const change = canaryMedian - stableMedian
  if (stableMedian === 0) return change === 0 ? 0 : Math.sign(change) * Infinity
  return change / Math.abs(stableMedian)
}

function formatPercent(fraction: number): string {
  return `${fraction > 0 ? '+' : ''}${formatValue(fraction * 100)}%`
}

/**
 * Kayenta-style judgement of canary against stable. Fails only when the change in the bad direction is
 * both significant and larger than the tolerance, so a tiny but consistent difference does not roll back.
 * For `either`, the two-sided p-value is used, so watching both directions does not double the false
 * alarm rate.
 */
export function compareVerdict(input: CompareInput): CompareResult {
  const { canary, stable, direction, tolerance, confidence } = input
  const minSamples = input.minSamples ?? MIN_COMPARE_SAMPLES
  const counts = { canarySamples: canary.length, stableSamples: stable.length }
  if (canary.length < minSamples || stable.length < minSamples) {
    return {
      verdict: 'nodata',
      message: `not enough samples (canary ${canary.length}, stable ${stable.length}, need ${minSamples} each)`,
      u: NaN,
      p: NaN,
      effectSize: NaN,
      ...counts
    }
  }

  const test = mannWhitneyU(canary, stable)
  const effectSize = relativeEffectSize(canary, stable)
  const p = direction === 'increase' ? test.pGreater : direction === 'decrease' ? test.pLess : test.pTwoSided
  const badChange =
    direction === 'increase' ? effectSize : direction === 'decrease' ? -effectSize : Math.abs(effectSize)
  const significant = p < 1 - confidence
  const tooLarge = badChange > tolerance
  const summary =
    `canary median ${formatValue(median(canary))} vs stable ${formatValue(median(stable))} ` +
    `(${formatPercent(effectSize)}), p=${p.toPrecision(3)}, n=${canary.length}/${stable.length}`
  const verdict: Verdict = significant && tooLarge ? 'fail' : 'pass'
  const why =
    verdict === 'fail'
      ? `: significant ${direction === 'either' ? 'change' : direction} beyond ${formatValue(tolerance * 100)}%`
      : ''
  return { verdict, message: summary + why, u: test.u, p, effectSize, ...counts }
}
