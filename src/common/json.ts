/** Small helpers for plain JSON values (Kubernetes specs). */
import { createHash } from 'node:crypto'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/**
 * A deep copy of a JSON value. Plain recursion: structuredClone goes through V8's serializer and is about ten
 * times slower on the small specs the routers copy at every step.
 */
export function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T
  if (value === null || typeof value !== 'object') return value
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const item = clone((value as Record<string, unknown>)[key])
    // A "__proto__" key (JSON.parse makes one) stays a key: assigning it would set the copy's prototype.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true })
    else copy[key] = item
  }
  return copy as T
}

/** JSON with object keys sorted, so equal values always serialise the same way. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v
  )
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b)
}

export function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16)
}

/** Paths where two JSON values differ, e.g. `spec.http[0].route[1].weight`. */
export function differingPaths(before: unknown, after: unknown, path = ''): string[] {
  if (jsonEqual(before, after)) return []
  const bothObjects =
    before &&
    after &&
    typeof before === 'object' &&
    typeof after === 'object' &&
    Array.isArray(before) === Array.isArray(after)
  if (!bothObjects) return [path || '(root)']
  if (Array.isArray(before) && Array.isArray(after) && before.length !== after.length)
    return [path || '(root)']
  const keys = new Set([...Object.keys(before as object), ...Object.keys(after as object)])
  return [...keys].flatMap(key => {
    const child = Array.isArray(before) ? `${path}[${key}]` : path ? `${path}.${key}` : key
    return differingPaths(
      (before as Record<string, unknown>)[key],
      (after as Record<string, unknown>)[key],
      child
    )
  })
}
