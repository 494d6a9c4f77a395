import { formatValue } from '../format.js'
import { logRateRatioEValue, type IntervalCounts } from './e-process.js'
import { boundsText, formatRatio, judge, judgementFields, type SequentialResult } from './judgement.js'
import { resolveSequentialOptions, type SequentialOptions } from './options.js'

/** Requests of one version since the stage started, and how many of them failed. */
export interface VersionCounts {
  failed: number
  total: number
}

/** Both versions' cumulative counts at one evaluation. */
export interface CountsSnapshot {
  canary: VersionCounts
  stable: VersionCounts
}

function checkedCounts(counts: VersionCounts, where: string): VersionCounts {
  // Prometheus' increase() extrapolates to the window's edges, so counts from it are rarely whole numbers.
  const failed = Math.round(counts.failed)
  const total = Math.round(counts.total)
  if (!(Number.isFinite(failed) && Number.isFinite(total) && failed >= 0 && failed <= total))
    throw new RangeError(
      `${where}: counts must be finite with 0 <= failed <= total, got ${failed} of ${total}`
    )
  return { failed, total }
}

/** Per-interval increments of cumulative snapshots; a counter that went down is refused. */
export function snapshotIntervals(snapshots: readonly CountsSnapshot[]): IntervalCounts[] {
  const intervals: IntervalCounts[] = []
  let previous: CountsSnapshot = { canary: { failed: 0, total: 0 }, stable: { failed: 0, total: 0 } }
  snapshots.forEach((snapshot, index) => {
    const canary = checkedCounts(snapshot.canary, `snapshot ${index + 1} canary`)
    const stable = checkedCounts(snapshot.stable, `snapshot ${index + 1} stable`)
    const interval = {
      canaryEvents: canary.failed - previous.canary.failed,
      canaryExposure: canary.total - previous.canary.total,
      stableEvents: stable.failed - previous.stable.failed,
      stableExposure: stable.total - previous.stable.total
    }
    if (Object.values(interval).some(increment => increment < 0))
      throw new RangeError(
        `snapshot ${index + 1}: cumulative counts went down (a counter reset?); counts must be since the stage started`
      )
    if (interval.canaryEvents > interval.canaryExposure || interval.stableEvents > interval.stableExposure)
      throw new RangeError(`snapshot ${index + 1}: more new failures than new requests`)
    intervals.push(interval)
    previous = { canary, stable }
  })
  return intervals
}

/**
 * Mantel-Haenszel estimate of the ratio of the canary's failure rate to the stable's, pooling intervals
 * the way the test does: each interval weighs by its own traffic split, so a change of the split over the
 * stage does not bias it. Infinity when only the canary failed, null when nothing failed.
 */
export function rateRatioEstimate(intervals: readonly IntervalCounts[]): number | null {
  let numerator = 0
  let denominator = 0
  for (const interval of intervals) {
    const exposure = interval.canaryExposure + interval.stableExposure
    if (exposure === 0) continue
    numerator += (interval.canaryEvents * interval.stableExposure) / exposure
    denominator += (interval.stableEvents * interval.canaryExposure) / exposure
  }
  if (denominator > 0) return numerator / denominator
  return numerator > 0 ? Infinity : null
}

function formatShare(failed: number, total: number): string {
  const percent = total > 0 ? formatValue(Number(((100 * failed) / total).toPrecision(3))) : '-'
  return `${percent}% (${failed} of ${total})`
}

/** How messages name the counted events: "failed" requests and their "failure rate" by default. */
export interface EventWords {
  /** Follows a count: "19 of 2000 failed". */
  events: string
  rate: string
  /** When neither version has any yet: "no failures yet". */
  none: string
}

const FAILURES: EventWords = { events: 'failed', rate: 'failure rate', none: 'no failures yet' }

/**
 * Sequential test of the canary's failure rate against the stable's, to be called at every evaluation of
 * a stage with all the snapshots so far (cumulative counts since the stage started, in order). Rejects when
 * the canary's failure rate is worse than the stable's beyond the tolerance, with a chance of at most
 * `alpha` of ever doing so over the stage when it is not. Works for any count of bad events out of a
 * total: failed requests, requests slower than a bound.
 */
export function sequentialErrorRateTest(
  snapshots: readonly CountsSnapshot[],
  options: SequentialOptions = {},
  words: EventWords = FAILURES
): SequentialResult {
  const resolved = resolveSequentialOptions(options)
  const intervals = snapshotIntervals(snapshots)
  const last = snapshots.length ? snapshots[snapshots.length - 1] : undefined
  const canary = last ? checkedCounts(last.canary, 'canary') : { failed: 0, total: 0 }
  const stable = last ? checkedCounts(last.stable, 'stable') : { failed: 0, total: 0 }

  const judgement = judge((nullRatio, side) => logRateRatioEValue(intervals, nullRatio, side), resolved)
  const estimate = resolved.verdictOnly ? null : rateRatioEstimate(intervals)
  const enough = canary.total >= resolved.minSamples && stable.total >= resolved.minSamples
  const verdict = !enough ? 'nodata' : judgement.rejected ? 'reject' : 'continue'

  const shares = `canary ${formatShare(canary.failed, canary.total)} ${words.events} vs stable ${formatShare(stable.failed, stable.total)}`
  const ratio = resolved.verdictOnly
    ? ''
    : estimate === null
      ? `, ${words.none}`
      : `, ratio ${formatRatio(estimate)}${boundsText(judgement, formatRatio)}`
  const evidence = `log e-value ${judgement.logEValue.toFixed(2)} of ${judgement.logThreshold.toFixed(2)}`
  const why =
    verdict === 'nodata'
      ? `; fewer than ${resolved.minSamples} requests on a version`
      : verdict === 'reject'
        ? `: ${words.rate} ${resolved.direction === 'either' ? 'changed' : resolved.direction === 'increase' ? 'higher' : 'lower'} beyond ${formatValue(resolved.tolerance * 100)}%`
        : ''
  return {
    verdict,
    estimate,
    ...judgementFields(judgement),
    canarySamples: canary.total,
    stableSamples: stable.total,
    message: `${shares}${ratio}, ${evidence}${why}`
  }
}
