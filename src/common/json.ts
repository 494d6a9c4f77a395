/** Small helpers for plain JSON values (Kubernetes specs). */
import { createHash } from 'node:crypto'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export function clone<T>(value: T): T {
  return structuredClone(value)
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
