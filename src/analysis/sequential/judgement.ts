import { formatValue } from '../format.js'
import { ratioBoundary, type Side } from './e-process.js'
import type { ResolvedSequentialOptions } from './options.js'
import type { SequentialBounds } from '../types.js'

/** `reject`: the canary is worse beyond the tolerance; `nodata`: fewer than `minSamples` on a version. */
export type SequentialVerdict = 'reject' | 'continue' | 'nodata'

export interface SequentialResult extends SequentialBounds {
  verdict: SequentialVerdict
  /**
   * Canary / stable: the ratio of the error rates, or the latency scale factor (1.2: 20% slower).
   * null when there is nothing to estimate it from yet (no failed request on either version).
   */
  estimate: number | null
  /** Requests (error rate) or samples (latency) of each version since the stage started. */
  canarySamples: number
  stableSamples: number
  /** One line for logs and reports. */
  message: string
}

/** Log e-value against "the ratio is `nullRatio`, or on the other side of it from `side`". */
export type Evidence = (nullRatio: number, side: Side) => number

export interface Judgement extends SequentialBounds {
  rejected: boolean
}

/**
 * Applies the direction and tolerance to the evidence. For `either` each side gets alpha/2 (a union
 * bound), so watching both directions does not double the false alarm rate.
 */
export function judge(evidence: Evidence, options: ResolvedSequentialOptions): Judgement {
  const { alpha, direction, tolerance, verdictOnly } = options
  const sideAlpha = direction === 'either' ? alpha / 2 : alpha
  const logThreshold = Math.log(1 / sideAlpha)
  const acceptedMax = direction === 'decrease' ? Infinity : 1 + tolerance
  const acceptedMin = direction === 'increase' ? 0 : 1 - tolerance
  const above = direction === 'decrease' ? -Infinity : evidence(acceptedMax, 'above')
  const below = direction === 'increase' ? -Infinity : evidence(acceptedMin, 'below')
  const logEValue = Math.max(above, below)
  // Evidence for "above r" falls as r grows; evidence for "below r" rises: each bound is one crossing.
  const lower = !verdictOnly ? ratioBoundary(ratio => evidence(ratio, 'above') >= logThreshold, true) : NaN
  const upper = !verdictOnly ? ratioBoundary(ratio => evidence(ratio, 'below') >= logThreshold, false) : NaN
  return {
    rejected: logEValue >= logThreshold,
    lower,
    upper,
    acceptedMin,
    acceptedMax,
    logEValue,
    logThreshold
  }
}

/** The judgement's fields as the result carries them. */
export function judgementFields(judgement: Judgement) {
  const { lower, upper, acceptedMin, acceptedMax, logEValue, logThreshold } = judgement
  return { lower, upper, acceptedMin, acceptedMax, logEValue, logThreshold }
}

/** A ratio for messages: three significant digits; 0 and Infinity for unbounded ends. */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? formatValue(Number(ratio.toPrecision(3))) : String(ratio)
}

/** " [lower, upper]" for messages; nothing when the bounds were not computed. */
export function boundsText(judgement: Judgement, format: (ratio: number) => string): string {
  if (Number.isNaN(judgement.lower)) return ''
  return ` [${format(judgement.lower)}, ${format(judgement.upper)}]`
}
