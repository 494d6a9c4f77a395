/** A measured value for humans: up to six significant digits, no trailing zeros. */
export function formatValue(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value)
}
