/**
 * Durations as plans, Prometheus range selectors and people write them: `500ms`, `30s`, `5m`, `1h`, `1m30s`.
 * The one place that reads and writes them.
 */

/** Units from largest to smallest; a duration lists its parts in this order, each unit at most once. */
const UNITS: readonly { unit: string; ms: number }[] = [
  { unit: 'h', ms: 3_600_000 },
  { unit: 'm', ms: 60_000 },
  { unit: 's', ms: 1_000 },
  { unit: 'ms', ms: 1 }
]

const EXAMPLES = 'e.g. 500ms, 30s, 5m, 1h or 1m30s'

/** A text that is not a duration; `problem` says what is wrong and how to write it. */
export class DurationError extends Error {
  constructor(readonly problem: string) {
    super(problem)
    this.name = 'DurationError'
  }
}

/** Parses `500ms`, `30s`, `5m`, `1h`, `1m30s`, `0s` into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim()
  if (trimmed === '') throw new DurationError(`is empty; write a duration, ${EXAMPLES}`)
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    throw new DurationError(`'${text}' has no unit; add one, e.g. '${trimmed}s' (units: ms, s, m, h)`)
  }
  // 'ms' must be tried before 'm'.
  const part = /(\d+)(ms|h|m|s)/y
  let total = 0
  let previousUnitIndex = -1
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed)
    if (!match) throw new DurationError(`'${text}' is not a duration; write it as ${EXAMPLES}`)
    const unitIndex = UNITS.findIndex(({ unit }) => unit === match[2])
    if (unitIndex <= previousUnitIndex) {
      throw new DurationError(
        `'${text}' must list its units from largest to smallest, each once (${EXAMPLES})`
      )
    }
    previousUnitIndex = unitIndex
    total += Number(match[1]) * UNITS[unitIndex].ms
  }
  return total
}

/**
 * Formats milliseconds the way plans write durations: `1m30s`, `5m`, `500ms`, `0s`. Prometheus accepts the
 * same notation in range selectors. `wholeSeconds` rounds to the second first (elapsed times for people).
 */
export function formatDuration(ms: number, options: { wholeSeconds?: boolean } = {}): string {
  if (ms < 0) return `-${formatDuration(-ms, options)}`
  let rest = options.wholeSeconds && ms >= 1000 ? Math.round(ms / 1000) * 1000 : Math.round(ms)
  if (rest === 0) return '0s'
  let text = ''
  for (const { unit, ms: unitMs } of UNITS) {
    const count = Math.floor(rest / unitMs)
    if (count > 0) text += `${count}${unit}`
    rest -= count * unitMs
  }
  return text
}
