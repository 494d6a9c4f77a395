import type { Evaluation } from '../analysis/types.js'
import type { RouterKind } from '../plan/types.js'

export type Command = 'advance' | 'verify' | 'rollback' | 'promote' | 'status' | 'comment'

export type RunStatus =
  | 'advanced'
  | 'completed'
  | 'rolled-back'
  | 'healthy'
  | 'unchanged'
  | 'planned'
  // `status` command only:
  | 'idle'
  | 'in-progress'

export type StageState = 'passed' | 'current' | 'pending' | 'rolled-back'

export interface LadderEntry {
  index: number // 1-based
  name: string
  kind: 'match' | 'weight' | 'finalize'
  /** Canary share of unmatched traffic once this stage is in effect. */
  weight: number
  /** Short description of the split, e.g. "cookie user=test-user -> v2", "95% v1 / 5% v2". */
  split: string
  state: StageState
  /** ISO time the stage last changed state, and the run that did it. */
  at?: string
  runId?: string
}

export interface Change {
  /** e.g. "VirtualService default/reviews" */
  object: string
  action: 'create' | 'update' | 'delete'
  /** Unified diff of the YAML before and after. */
  diff: string
}

export interface HistoryEntry {
  at: string
  revision: string
  event: string // e.g. "pinned", "applied 5%", "passed 5%", "rolled back: success-rate 0.91 < 0.99"
  runId?: string
  /** 1-based stage index the event concerns (0 = pinned). */
  stageIndex?: number
  /** Canary share of unmatched traffic after this event; the weight chart infers it from `event` when absent. */
  weight?: number
}

/** Everything a run knows about itself: the report file, the PR comment and the job summary render it. */
export interface RunReport {
  command: Command
  status: RunStatus
  /** One-line outcome for humans. */
  message: string
  dryRun: boolean
  service: string
  namespace: string
  router: RouterKind
  revision: string
  stable: string
  canary: string
  stage: { name: string; index: number } | null
  nextStage: { name: string; index: number } | null
  weight: { before: number; after: number }
  done: boolean
  ladder: LadderEntry[]
  changes: Change[]
  evaluations: Evaluation[]
  rollback?: { reason: string; check?: string; value?: number | null; threshold?: string; at: string }
  history: HistoryEntry[]
  /** What approving the next stage does and where: environment name or `/canary advance`. */
  approval?: { nextStage: string; environment?: string; comment?: string }
  warnings: string[]
  run: { id?: string; url?: string }
  timings: { startedAt: string; finishedAt: string; durationMs: number }
}
