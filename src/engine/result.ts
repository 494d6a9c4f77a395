import type { Evaluation } from '../analysis/types.js'
import type { Plan } from '../plan/types.js'
import type { EngineCommand } from './commands.js'
import type { Change } from './routing-store.js'
import type { ReleaseState } from './state.js'
import type { Outcome } from './transition.js'

/** What one run did and saw: the facts the report file, the PR comment, the summary and the CLI are built from. */
export interface ReleaseResult {
  command: EngineCommand
  outcome: Outcome
  dryRun: boolean
  plan: Plan
  /** The revision the run acted on: the release's recorded one, else the run's. */
  revision: string
  /** The state after the run (a dry run: before it). */
  state?: ReleaseState
  /** The canary's actual share of unmatched traffic before and after the run. */
  weight: { before: number; after: number }
  /** The routing objects of the release, e.g. "VirtualService default/reviews". */
  objects: string[]
  changes: Change[]
  evaluations: Evaluation[]
  /** Checks whose last evaluation had no data, when the stage is held as inconclusive. */
  noData: Evaluation[]
  warnings: string[]
  run: { id?: string; url?: string }
  timings: { startedAt: string; finishedAt: string; durationMs: number }
}
