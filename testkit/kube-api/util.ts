/** Small helpers shared by the Kubernetes API test double. */
import { randomBytes, randomUUID } from 'node:crypto'

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type Obj = Record<string, unknown>

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T)
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    return a.every((x, i) => deepEqual(x, b[i]))
  }
  if (isObj(a)) {
    if (!isObj(b)) return false
    const ka = Object.keys(a).filter(k => a[k] !== undefined)
    const kb = Object.keys(b).filter(k => b[k] !== undefined)
    if (ka.length !== kb.length) return false
    return ka.every(k => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]))
  }
  return false
}

export function uid(): string {
  return randomUUID()
}

/** Kubernetes' rand.String alphabet (no vowels, no confusable digits). */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789'
export function randSuffix(n: number): string {
  const b = randomBytes(n)
  let s = ''
  for (let i = 0; i < n; i++) s += SAFE[b[i] % SAFE.length]
  return s
}

/** k8s.io/apimachinery/pkg/util/rand.SafeEncodeString applied to an fnv-32a hash, like pod-template-hash. */
export function templateHash(v: unknown): string {
  const s = JSON.stringify(v)
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  const digits = String(h)
  let out = ''
  for (const d of digits) out += SAFE[(d.charCodeAt(0) * 7) % SAFE.length]
  return out
}

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms))
}

/** The wording of k8s.io/apimachinery/pkg/util/duration.HumanDuration (used in kubectl's AGE column). */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60 * 2) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`
  if (m < 60 * 3) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`
  if (h < 48) return `${h}h`
  const d = Math.floor(h / 24)
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`
  if (h < 24 * 365 * 2) return `${d}d`
  return `${Math.floor(d / 365)}y`
}

/** Orders an object's keys the way the apiserver serialises them: apiVersion, kind, metadata, ..., status. */
export function ordered(o: Obj): Obj {
  const out: Obj = {}
  for (const k of ['apiVersion', 'kind', 'metadata']) if (k in o) out[k] = o[k]
  for (const k of Object.keys(o)) if (!(k in out) && k !== 'status') out[k] = o[k]
  if ('status' in o) out.status = o.status
  const md = out.metadata
  if (isObj(md)) {
    const m: Obj = {}
    const order = [
      'name',
      'generateName',
      'namespace',
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'labels',
      'annotations',
      'ownerReferences',
      'finalizers',
      'managedFields'
    ]
    for (const k of order) if (k in md) m[k] = md[k]
    for (const k of Object.keys(md)) if (!(k in m)) m[k] = md[k]
    out.metadata = m
  }
  return out
}

/** JSON pointer / dotted field path helpers used in error messages: ['spec','http',0] -> spec.http[0]. */
export function fieldPath(parts: (string | number)[]): string {
  let s = ''
  for (const p of parts) {
    if (typeof p === 'number' || /^\d+$/.test(String(p))) s += `[${p}]`
    else s += s ? `.${p}` : String(p)
  }
  return s
}

/** Go's %q-ish quoting of a value for "Invalid value: ..." messages. */
export function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (v === null || v === undefined) return 'null'
  return JSON.stringify(JSON.stringify(v))
}
