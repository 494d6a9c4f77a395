/** Which change of the canary is bad: the same three words as the `compare` check. */
export type SequentialDirection = 'increase' | 'decrease' | 'either'

export interface SequentialOptions {
  /**
   * Chance of rejecting a canary that is not worse than `tolerance`, over the whole stage however often
   * the test is read. In (0, 0.5]; default 0.05.
   */
  alpha?: number
  /** Default `increase`. */
  direction?: SequentialDirection
  /**
   * Relative change the user accepts: the canary is worse only beyond (1 + tolerance) times the stable
   * (`increase`), or below (1 - tolerance) times it (`decrease`). At least 0, below 1 unless `increase`;
   * default 0.25 (as `compare`).
   */
  tolerance?: number
  /**
   * Fewer requests (error rate) or samples (latency) than this on either version since the stage started
   * give no verdict (`nodata`). An integer, at least 2; default 50.
   */
  minSamples?: number
  /**
   * Skip the estimate and the confidence bounds, which take searches over ratios: the estimate is then
   * null and the bounds NaN. For simulations that only need verdicts; default false.
   */
  verdictOnly?: boolean
}

export const SEQUENTIAL_DEFAULTS = {
  alpha: 0.05,
  direction: 'increase',
  tolerance: 0.25,
  minSamples: 50,
  verdictOnly: false
} as const satisfies Required<SequentialOptions>

export type ResolvedSequentialOptions = Required<SequentialOptions>

/** The options with defaults for the fields left out (or set to undefined). */
function withDefaults(options: SequentialOptions): ResolvedSequentialOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
  return { ...SEQUENTIAL_DEFAULTS, ...given }
}

/**
 * What is wrong with the options, in words a plan error can show; undefined when they are valid. Takes the
 * latency test's `quantile` too.
 */
export function sequentialOptionsProblem(
  options: SequentialOptions & { quantile?: number }
): string | undefined {
  const { quantile, ...rest } = options
  if (quantile !== undefined && !(quantile > 0 && quantile < 1))
    return `quantile must be in (0, 1), got ${quantile}`
  const { alpha, direction, tolerance, minSamples, verdictOnly } = withDefaults(rest)
  if (!(alpha > 0 && alpha <= 0.5)) return `alpha must be in (0, 0.5], got ${alpha}`
  if (!['increase', 'decrease', 'either'].includes(direction))
    return `direction must be increase, decrease or either, got ${direction}`
  if (!(tolerance >= 0 && Number.isFinite(tolerance))) return `tolerance must be at least 0, got ${tolerance}`
  if (direction !== 'increase' && tolerance >= 1)
    return `tolerance must be below 1 with direction ${direction} (a change below -100% is impossible), got ${tolerance}`
  if (!(Number.isInteger(minSamples) && minSamples >= 2))
    return `minSamples must be an integer of at least 2, got ${minSamples}`
  if (typeof verdictOnly !== 'boolean') return `verdictOnly must be true or false`
  return undefined
}

export function resolveSequentialOptions(options: SequentialOptions): ResolvedSequentialOptions {
  const problem = sequentialOptionsProblem(options)
  if (problem) throw new RangeError(problem)
  return withDefaults(options)
}
