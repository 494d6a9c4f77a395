import { PlanError } from './plan-error.js'

/** Units from largest to smallest; a duration lists its parts in this order, each unit at most once. */
const UNITS: readonly { unit: string; ms: number }[] = [
  { unit: 'h', ms: 3_600_000 },
  { unit: 'm', ms: 60_000 },
  { unit: 's', ms: 1_000 },
  { unit: 'ms', ms: 1 }
]

const EXAMPLES = 'e.g. 500ms, 30s, 5m, 1h or 1m30s'

/** Parses `500ms`, `30s`, `5m`, `1h`, `1m30s`, `0s` into milliseconds; `field` names the plan field in errors. */
export function parseDuration(text: string, field: string): number {
  const trimmed = text.trim()
  if (trimmed === '') throw new PlanError(field, `is empty; write a duration, ${EXAMPLES}`)
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    throw new PlanError(field, `'${text}' has no unit; add one, e.g. '${trimmed}s' (units: ms, s, m, h)`)
  }
  // 'ms' must be tried before 'm'.
  const part = /(\d+)(ms|h|m|s)/y
  let total = 0
  let previousUnitIndex = -1
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed)
    if (!match) throw new PlanError(field, `'${text}' is not a duration; write it as ${EXAMPLES}`)
    const unitIndex = UNITS.findIndex(({ unit }) => unit === match[2])
    if (unitIndex <= previousUnitIndex) {
      throw new PlanError(
        field,
        `'${text}' must list its units from largest to smallest, each once (${EXAMPLES})`
      )
    }
    previousUnitIndex = unitIndex
    total += Number(match[1]) * UNITS[unitIndex].ms
  }
  return total
}

/** Formats milliseconds the way plans write durations: `1m30s`, `5m`, `500ms`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`
  let rest = Math.round(ms)
  if (rest === 0) return '0s'
  let text = ''
  for (const { unit, ms: unitMs } of UNITS) {
    const count = Math.floor(rest / unitMs)
    if (count > 0) text += `${count}${unit}`
    rest -= count * unitMs
  }
  return text
}
