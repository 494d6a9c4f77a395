/**
 * The release state, kept in annotations on the first routing object so every runner, workflow and the CLI read
 * the same truth. Each service has its own annotations, so releases of several services can share one object.
 * Pure: naming, encoding, decoding (validated, see state-schema.ts) and the drift test.
 */
import { gunzipSync, gzipSync } from 'node:zlib'
import { digest, type Json } from '../common/json.js'
import type { RoutingSpecs } from '../routers/router.js'
import { stateProblem } from './state-schema.js'

const DOMAIN = 'istio-canary-action.github.io'

/** Label on every managed routing object while a release runs, so GitOps tools can leave it alone. */
export const IN_PROGRESS_LABEL = `${DOMAIN}/in-progress`

/** The release a set of annotations belongs to: the service, in its namespace. */
export interface ServiceRef {
  service: string
  namespace: string
}

/** `reviews.default.istio-canary-action.github.io/state`: a DNS-subdomain prefix fits any service and namespace. */
export function stateAnnotation(ref: ServiceRef): string {
  return `${ref.service}.${ref.namespace}.${DOMAIN}/state`
}

export function targetAnnotation(ref: ServiceRef): string {
  return `${ref.service}.${ref.namespace}.${DOMAIN}/rollback-target`
}

/** Whether an annotation key is any release's state. */
export function isStateAnnotation(key: string): boolean {
  return key.endsWith(`.${DOMAIN}/state`)
}

/**
 * pinned: routing pinned to stable, no stage applied yet; watching: stage applied, its watch not finished;
 * held: watched, but a check had no data (onNoData: inconclusive), so the next advance watches it again;
 * passed: stage watched and healthy; rolled-back / completed: the release is over.
 */
export type Phase = 'pinned' | 'watching' | 'held' | 'passed' | 'rolled-back' | 'completed'

export const PHASES: readonly Phase[] = ['pinned', 'watching', 'held', 'passed', 'rolled-back', 'completed']

export function inProgress(phase: Phase): boolean {
  return phase !== 'rolled-back' && phase !== 'completed'
}

/** What a release is: a run whose plan says otherwise is refused while it is in progress. */
export interface ReleaseIdentity {
  service: string
  namespace: string
  stable: string
  canary: string
  revision: string
  /** Digest of what the stages do to the routing (see ladderDigest). */
  ladder: string
  /** The routing objects, `namespace/name`, in plan order. */
  objects: string[]
}

/** Digest of each managed object's part as the action last wrote it; null: the object must be absent. */
export type Digests = Record<string, string | null>

export interface HistoryEntry {
  at: string
  revision: string
  /** e.g. "pinned to v1", "applied 5%", "passed 5%", "rolled back: success-rate 0.91 < 0.99" */
  event: string
  runId?: string
  /** 1-based stage index the event concerns (0 = pinned). */
  stageIndex?: number
  /** Canary share of unmatched traffic after this event. */
  weight?: number
}

export interface RollbackRecord {
  reason: string
  stageIndex: number
  check?: string
  value?: number | null
  threshold?: string
  at: string
}

export interface ReleaseState {
  release: ReleaseIdentity
  /** Stage in effect, 1-based; 0 when only pinned. */
  stageIndex: number
  phase: Phase
  /** When the stage in effect was applied: the watch window starts here. */
  appliedAt: string
  runId?: string
  /** The managed routes of each object as last written. */
  written: Digests
  /** Everything else in each object as last written: edits there are someone else's, kept and reported. */
  unmanaged: Digests
  /** While a multi-object write may be unfinished: the digests from before it, which count as "not yet written". */
  previous?: Digests
  rollback?: RollbackRecord
  /** Held stage: the checks whose last evaluation had no data. */
  noData?: string[]
  history: HistoryEntry[]
}

const HISTORY_LIMIT = 40

export function digestsOf(parts: Record<string, Json>): Digests {
  return Object.fromEntries(
    Object.entries(parts).map(([key, part]) => [key, part === null ? null : digest(part)])
  )
}

/** The history with one more entry, keeping the newest HISTORY_LIMIT. */
export function appendHistory(history: HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return [...history, entry].slice(-HISTORY_LIMIT)
}

export function encodeState(state: ReleaseState): string {
  return JSON.stringify(state)
}

/** An annotation the action cannot trust: refused like drift, never rendered. */
export class StateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'StateError'
  }
}

export function decodeState(
  annotations: Record<string, string> | undefined,
  ref: ServiceRef
): ReleaseState | undefined {
  const key = stateAnnotation(ref)
  const text = annotations?.[key]
  if (text === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  const problem = value === undefined ? 'not JSON' : stateProblem(value)
  if (problem) {
    throw new StateError(
      `state: the annotation ${key} is not valid (${problem}); it was not written by this action. Restore the routing, then remove the annotation to start over`
    )
  }
  return value as ReleaseState
}

/** The rollback target is stored compressed: a VirtualService with many routes must fit the 256 KiB annotation limit. */
export function encodeTarget(target: RoutingSpecs): string {
  return gzipSync(JSON.stringify(target)).toString('base64')
}

export function decodeTarget(
  annotations: Record<string, string> | undefined,
  ref: ServiceRef
): RoutingSpecs | undefined {
  const key = targetAnnotation(ref)
  const text = annotations?.[key]
  if (!text) return undefined
  try {
    const target = JSON.parse(gunzipSync(Buffer.from(text, 'base64')).toString('utf8')) as unknown
    if (typeof target !== 'object' || target === null || Array.isArray(target))
      throw new Error('not a mapping')
    return target as RoutingSpecs
  } catch {
    throw new StateError(
      `state: the annotation ${key} is not valid; remove both canary annotations to start over`
    )
  }
}

/** Objects whose part now is neither what the action last wrote nor (mid-write) what was there before. */
export function changedSince(written: Digests, previous: Digests | undefined, now: Digests): string[] {
  return Object.keys(written).filter(key => {
    const current = now[key] ?? null
    return current !== written[key] && !(previous && key in previous && previous[key] === current)
  })
}

/** Objects not yet converged to what was last written (a run died mid-write). */
export function unconverged(written: Digests, now: Digests): string[] {
  return Object.keys(written).filter(key => (now[key] ?? null) !== written[key])
}
