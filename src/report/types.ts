import type { Evaluation } from '../analysis/types.js'
import type { EngineCommand } from '../engine/commands.js'
import type { Change } from '../engine/routing-store.js'
import type { HistoryEntry, RollbackRecord } from '../engine/state.js'
import type { RunStatus } from '../engine/transition.js'
import type { RouterKind, StageKind } from '../plan/types.js'

export type { Change, HistoryEntry, RunStatus }

export type StageState = 'passed' | 'current' | 'held' | 'pending' | 'rolled-back'

export interface LadderEntry {
  index: number // 1-based
  name: string
  kind: StageKind
  /** Canary share of unmatched traffic once this stage is in effect, as planned. */
  weight: number
  /** Short description of the split, e.g. "cookie ~ ^(.*;)?user=test$ → v2", "95% v1 / 5% v2". */
  split: string
  state: StageState
  /** ISO time the stage last changed state, and the run that did it. */
  at?: string
  runId?: string
}

/** Everything a run knows about itself: the report file, the PR comment and the job summary render it. */
export interface RunReport {
  command: EngineCommand
  status: RunStatus
  /** One-line outcome for humans. */
  message: string
  /** The run failed: checks it watched failed. */
  failed: boolean
  dryRun: boolean
  service: string
  namespace: string
  router: RouterKind
  /** The routing objects of the release, e.g. "VirtualService default/reviews". */
  objects: string[]
  revision: string
  stable: string
  canary: string
  stage: { name: string; index: number } | null
  nextStage: { name: string; index: number } | null
  /** The canary's actual share of unmatched traffic before and after the run. */
  weight: { before: number; after: number }
  done: boolean
  ladder: LadderEntry[]
  changes: Change[]
  evaluations: Evaluation[]
  /** A held stage: the checks whose last evaluation had no data. */
  noData: Evaluation[]
  rollback?: RollbackRecord
  history: HistoryEntry[]
  /** What approving the next stage does and where: environment name or `/canary advance`. */
  approval?: { nextStage: string; environment?: string; comment?: string }
  warnings: string[]
  run: { id?: string; url?: string }
  timings: { startedAt: string; finishedAt: string; durationMs: number }
}
