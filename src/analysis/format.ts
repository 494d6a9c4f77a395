const UNITS: [suffix: string, ms: number][] = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1]
]

/**
 * Milliseconds as a Prometheus-style duration ("30s", "1m30s", "1h", "500ms"): the same notation the plan
 * uses, and one Prometheus accepts in range selectors.
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms))
  if (rest === 0) return '0s'
  let text = ''
  for (const [suffix, size] of UNITS) {
    const count = Math.floor(rest / size)
    if (count > 0) text += `${count}${suffix}`
    rest -= count * size
  }
  return text
}

/** A measured value for humans: up to six significant digits, no trailing zeros. */
export function formatValue(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value)
}
