/**
 * The release state, kept in annotations on the primary routing object so every runner, workflow and the CLI
 * read the same truth. Pure: encoding, decoding and the drift test.
 */
import { gunzipSync, gzipSync } from 'node:zlib'
import type { RoutingSpecs } from '../routers/router.js'
import type { HistoryEntry } from '../report/types.js'
import { digest } from './json.js'

export const STATE_ANNOTATION = 'istio-canary-action.github.io/state'
export const TARGET_ANNOTATION = 'istio-canary-action.github.io/rollback-target'

/**
 * pinned: routing pinned to stable, no stage applied yet; watching: stage applied, its watch not finished;
 * passed: stage watched and healthy; rolled-back / completed: the release is over.
 */
export type Phase = 'pinned' | 'watching' | 'passed' | 'rolled-back' | 'completed'

/** Digest of each managed object's spec as the action last wrote it; null: the object must be absent. */
export type Digests = Record<string, string | null>

export interface ReleaseState {
  revision: string
  /** Stage in effect, 1-based; 0 when only pinned. */
  stageIndex: number
  phase: Phase
  /** When the stage in effect was applied: the watch window starts here. */
  appliedAt: string
  runId?: string
  written: Digests
  /** While a multi-object write may be unfinished: the digests from before it, which count as "not yet written". */
  previous?: Digests
  rollback?: {
    reason: string
    stageIndex: number
    check?: string
    value?: number | null
    threshold?: string
    at: string
  }
  history: HistoryEntry[]
}

const HISTORY_LIMIT = 40

export function digestsOf(specs: RoutingSpecs): Digests {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec ? digest(spec) : null]))
}

/** The history with one more entry, keeping the newest HISTORY_LIMIT. */
export function appendHistory(history: HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return [...history, entry].slice(-HISTORY_LIMIT)
}

export function encodeState(state: ReleaseState): string {
  return JSON.stringify(state)
}

export function decodeState(annotations: Record<string, string> | undefined): ReleaseState | undefined {
  const text = annotations?.[STATE_ANNOTATION]
  if (!text) return undefined
  try {
    const state = JSON.parse(text) as ReleaseState
    const wellFormed =
      typeof state.revision === 'string' &&
      typeof state.stageIndex === 'number' &&
      typeof state.phase === 'string' &&
      typeof state.written === 'object' &&
      state.written !== null &&
      Array.isArray(state.history)
    if (!wellFormed) throw new Error('fields missing')
    return state
  } catch (error) {
    throw new Error(
      `state: the annotation ${STATE_ANNOTATION} is not valid (${(error as Error).message}); remove it to start over`,
      { cause: error }
    )
  }
}

/** The rollback target is stored compressed: a VirtualService with many routes must fit the 256 KiB annotation limit. */
export function encodeTarget(target: RoutingSpecs): string {
  return gzipSync(JSON.stringify(target)).toString('base64')
}

export function decodeTarget(annotations: Record<string, string> | undefined): RoutingSpecs | undefined {
  const text = annotations?.[TARGET_ANNOTATION]
  if (!text) return undefined
  try {
    return JSON.parse(gunzipSync(Buffer.from(text, 'base64')).toString('utf8')) as RoutingSpecs
  } catch {
    throw new Error(
      `state: the annotation ${TARGET_ANNOTATION} is not valid; remove both canary annotations to start over`
    )
  }
}

/** Objects whose current spec is neither what the action last wrote nor (mid-write) what was there before. */
export function driftedObjects(state: ReleaseState, current: RoutingSpecs): string[] {
  const now = digestsOf(current)
  const previous = state.previous ?? {}
  return Object.keys(state.written).filter(name => {
    const current = now[name] ?? null
    return current !== state.written[name] && !(name in previous && previous[name] === current)
  })
}

/** Objects not yet converged to what was last written (a run died mid-write). */
export function unconvergedObjects(state: ReleaseState, current: RoutingSpecs): string[] {
  const now = digestsOf(current)
  return Object.keys(state.written).filter(name => (now[name] ?? null) !== state.written[name])
}
