/**
 * The e-processes of the two sequential families, built the same way: one factor per interval whose
 * expectation is at most 1 when the canary is not worse, multiplied over the intervals (a test
 * supermartingale), mixed over a fixed grid of alternatives. Ville's inequality bounds the chance that such a
 * process ever reaches 1/alpha by alpha: the guarantee holds however often it is read, and a stage may stop
 * at the first evaluation where it does.
 *
 * Rates (error rate): in each interval, how many "bad" events each version had out of how much exposure.
 * For an interval with canary events x of exposure n and stable events y of exposure s, and a null ratio r0
 * (the canary's rate of bad events is at most r0 times the stable's), one alternative ratio r1 = r0 * g
 * contributes the factor
 *
 *   g^x * ((r0 * n + s) / (r0 * g * n + s))^(x + y)
 *
 * the likelihood ratio of "each bad event is the canary's with probability r n / (r n + s)" at r1 against
 * r0. Its expectation under the null is at most 1 whatever the stable's rate is, even when that rate changes
 * from request to request (docs/sequential-analysis.md has the proof); it is tight when bad events are rare.
 *
 * Exceedances (latency): in each interval, how many of the canary's samples are above a threshold, as
 * binomial trials with a null probability; the factor is the binomial likelihood ratio at a shifted
 * log-odds.
 */

/** One interval's counts (increments, not cumulative totals). */
export interface IntervalCounts {
  canaryEvents: number
  canaryExposure: number
  stableEvents: number
  stableExposure: number
}

/** Which alternative the evidence is for: the canary's rate above the null ratio, or below it. */
export type Side = 'above' | 'below'

/**
 * The mixture's alternatives, as |log(r1 / r0)| (rates) or the log-odds shift (exceedances): from 2% to
 * about 170 times, each a factor sqrt(2) from the next on the log scale, equally weighted. A wide,
 * scale-free grid because nothing is known in advance about the size of a regression; the price of not
 * knowing is log(17) ≈ 2.8 on the log e-value scale, and an alternative between two grid points keeps at
 * least 96% of its log-likelihood ratio (when that is near quadratic, as with many events).
 */
export const LOG_RATIO_GRID: readonly number[] = Array.from({ length: 17 }, (_, j) => 0.02 * 2 ** (j / 2))

/** The grid's log shifts on one side, and exp(shift) - 1 of each. */
function alternatives(grid: readonly number[], side: Side) {
  const shifts = grid.map(magnitude => (side === 'above' ? magnitude : -magnitude))
  return { shifts, shiftsMinusOne: shifts.map(Math.expm1) }
}

/** log(mean of exp(terms)): the log of an equally weighted mixture, without overflow. */
function logMeanExp(terms: Float64Array): number {
  let top = -Infinity
  for (const term of terms) if (term > top) top = term
  if (top === -Infinity) return -Infinity
  let sum = 0
  for (const term of terms) sum += Math.exp(term - top)
  return top + Math.log(sum / terms.length)
}

/**
 * Log of the mixture e-value against "canary rate = nullRatio × stable rate" (and everything on the other
 * side of it), for the alternatives on `side`. Intervals without events contribute nothing.
 */
export function logRateRatioEValue(
  intervals: readonly IntervalCounts[],
  nullRatio: number,
  side: Side,
  grid: readonly number[] = LOG_RATIO_GRID
): number {
  const { shifts, shiftsMinusOne } = alternatives(grid, side)
  const terms = new Float64Array(grid.length)
  for (const interval of intervals) {
    const events = interval.canaryEvents + interval.stableEvents
    if (events === 0) continue
    const nullCanaryMass = nullRatio * interval.canaryExposure
    const nullCanaryShare = nullCanaryMass / (nullCanaryMass + interval.stableExposure)
    for (let j = 0; j < grid.length; j++) {
      // The mass ratio is 1 + (g - 1) * r0 n / (r0 n + s); log1p keeps small alternatives exact.
      terms[j] += interval.canaryEvents * shifts[j] - events * Math.log1p(shiftsMinusOne[j] * nullCanaryShare)
    }
  }
  return logMeanExp(terms)
}

/** Binomial trials of one interval: `successes` of `trials`, each with `nullProbability` under the null. */
export interface BinomialTrials {
  successes: number
  trials: number
  nullProbability: number
}

/**
 * Log of the mixture e-value against "each trial succeeds with its null probability" (and everything on the
 * other side of it), for the log-odds shifts on `side`.
 */
export function logBinomialEValue(
  intervals: readonly BinomialTrials[],
  side: Side,
  grid: readonly number[] = LOG_RATIO_GRID
): number {
  const { shifts, shiftsMinusOne } = alternatives(grid, side)
  const terms = new Float64Array(grid.length)
  for (const { successes, trials, nullProbability } of intervals) {
    if (trials === 0) continue
    for (let j = 0; j < grid.length; j++) {
      // The binomial likelihood ratio in its exponential-family form: the log-odds shifted by shifts[j].
      terms[j] += successes * shifts[j] - trials * Math.log1p(nullProbability * shiftsMinusOne[j])
    }
  }
  return logMeanExp(terms)
}

/** Ratios searched for confidence bounds: wider than any canary comparison needs. */
export const RATIO_SEARCH_RANGE = { min: 1e-6, max: 1e6 } as const

/**
 * The boundary between where `rejected(ratio)` holds and where it does not, for a predicate that changes
 * once over the ratio range (true below the boundary when `rejectedBelow`, true above it otherwise).
 * Searches on the log scale; returns the range's end when the predicate never changes.
 */
export function ratioBoundary(rejected: (ratio: number) => boolean, rejectedBelow: boolean): number {
  let low = Math.log(RATIO_SEARCH_RANGE.min)
  let high = Math.log(RATIO_SEARCH_RANGE.max)
  if (rejectedBelow) {
    if (!rejected(Math.exp(low))) return 0
    if (rejected(Math.exp(high))) return Infinity
  } else {
    if (!rejected(Math.exp(high))) return Infinity
    if (rejected(Math.exp(low))) return 0
  }
  // 16 halvings of a range of 27.6 leave 4e-4 on the log scale: bounds within 0.05%.
  for (let step = 0; step < 16; step++) {
    const middle = (low + high) / 2
    if (rejected(Math.exp(middle)) === rejectedBelow) low = middle
    else high = middle
  }
  return Math.exp((low + high) / 2)
}
