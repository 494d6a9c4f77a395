/**
 * The release as a state machine, pure: from the recorded state, the command and the plan, the step to take or
 * the refusal; and, once a watch ends, what its verdict means given the state read again then. The executor
 * (release.ts) does the I/O each step needs. Each command's rule is its entry in commands.ts.
 */
import { ladderDigest } from '../plan/stages.js'
import type { Plan } from '../plan/types.js'
import type { RouterDefinition, RoutingSpecs } from '../routers/router.js'
import { inProgress, type ReleaseIdentity, type ReleaseState } from './state.js'

/** What a run ends as (the `status` output). */
export type RunStatus =
  | 'advanced'
  | 'completed'
  | 'rolled-back'
  | 'healthy'
  | 'inconclusive'
  | 'unchanged'
  | 'planned'
  // `status` command only:
  | 'idle'
  | 'in-progress'

export interface Outcome {
  status: RunStatus
  message: string
  /** The run failed: checks it watched failed (the one rule the action's exit and the CLI's share). */
  failed?: boolean
}

/** What the executor is asked to do. */
export type Step =
  /** Pin the routing to stable (the rollback target), then apply stage `stageIndex`. */
  | { kind: 'start'; stageIndex: number; retry: boolean }
  /** Apply stage `stageIndex` on top of the pinned or passed stage before it, then watch it. */
  | { kind: 'apply'; stageIndex: number }
  /** Converge to the stage in effect (a run died mid-write) and watch it again. */
  | { kind: 'resume'; stageIndex: number }
  /** Watch the stage in effect for the verify window; roll back if it fails. */
  | { kind: 'verify'; stageIndex: number }
  | { kind: 'rollback'; notes: string[] }
  /** Nothing to change: report this. */
  | { kind: 'report'; outcome: Outcome; warnings?: string[] }
  | { kind: 'refuse'; message: string }

export interface Situation {
  revision: string
  /** What the plan of this run says the release is. */
  identity: ReleaseIdentity
  state?: ReleaseState
  stageCount: number
}

export function identityOf(plan: Plan, revision: string, objectKeys: string[]): ReleaseIdentity {
  return {
    service: plan.service,
    namespace: plan.namespace,
    stable: plan.stable,
    canary: plan.canary,
    revision,
    ladder: ladderDigest(plan),
    objects: objectKeys
  }
}

/** What differs between the release recorded and the one this run's plan describes, in words. */
export function identityDifferences(recorded: ReleaseIdentity, planned: ReleaseIdentity): string[] {
  const differences: string[] = []
  for (const field of ['stable', 'canary', 'revision'] as const) {
    if (recorded[field] !== planned[field])
      differences.push(`${field} is ${planned[field]}, the release has ${recorded[field]}`)
  }
  if (recorded.ladder !== planned.ladder)
    differences.push('the stages differ from the ones the release started with')
  if (recorded.objects.join(',') !== planned.objects.join(',')) {
    differences.push(
      `routing lists ${planned.objects.join(', ')}, the release has ${recorded.objects.join(', ')}`
    )
  }
  return differences
}

export function describeState(state: ReleaseState, stageCount: number): string {
  return `${state.release.revision} at stage ${state.stageIndex}/${stageCount} (${state.phase})`
}

/** A run may go on with an in-progress release only when its plan describes that very release. */
export function mismatchRefusal(situation: Situation, state: ReleaseState): Step | undefined {
  const differences = identityDifferences(state.release, situation.identity)
  if (differences.length === 0) return undefined
  return {
    kind: 'refuse',
    message: `the plan does not match the release in progress (${describeState(state, situation.stageCount)}): ${differences.join('; ')}. Restore the plan, or roll the release back and start again`
  }
}

export function isInProgress(state: ReleaseState | undefined): state is ReleaseState {
  return state !== undefined && inProgress(state.phase)
}

/** The stage a run watched, as it recorded it when it applied (or resumed) the stage. */
export interface Watched {
  revision: string
  stageIndex: number
  appliedAt: string
}

export type WatchVerdict = 'passed' | 'failed' | 'inconclusive' | 'cancelled' | 'superseded'

export type Conclusion =
  | { kind: 'pass' }
  | { kind: 'hold' }
  | { kind: 'rollback' }
  | { kind: 'cancelled' }
  /** The release moved on while the run watched: this outcome, and nothing is written. */
  | { kind: 'superseded'; outcome: Outcome; conflict: boolean }

/** The stage the run watched is still the one in effect, as that run applied it. */
export function stillWatched(watched: Watched, state: ReleaseState | undefined): boolean {
  return (
    isInProgress(state) &&
    state.release.revision === watched.revision &&
    state.stageIndex === watched.stageIndex &&
    state.appliedAt === watched.appliedAt
  )
}

/**
 * What a finished watch means, given the state read again after it. A rollback, or any newer write, made
 * meanwhile wins: the run never records or reports a stage that is no longer applied. Failed checks still roll
 * back whatever is applied now, unless a rollback already happened.
 */
export function concludeWatch(
  watched: Watched,
  verdict: WatchVerdict,
  now: ReleaseState | undefined
): Conclusion {
  if (now?.phase === 'rolled-back' && now.release.revision === watched.revision) {
    return {
      kind: 'superseded',
      conflict: false,
      outcome: {
        status: 'rolled-back',
        message: `rolled back meanwhile${now.rollback ? ` (${now.rollback.reason})` : ''}; stage ${watched.stageIndex} is no longer applied`
      }
    }
  }
  if (verdict === 'failed') return { kind: 'rollback' }
  if (verdict === 'superseded' || !stillWatched(watched, now)) {
    const where = now ? `${now.release.revision} stage ${now.stageIndex} (${now.phase})` : 'no release'
    return {
      kind: 'superseded',
      conflict: true,
      outcome: {
        status: 'unchanged',
        message: `the release changed while this run watched stage ${watched.stageIndex} (now ${where}); nothing was recorded`
      }
    }
  }
  if (verdict === 'cancelled') return { kind: 'cancelled' }
  if (verdict === 'inconclusive') return { kind: 'hold' }
  return { kind: 'pass' }
}

/** The canary's actual share of unmatched traffic while the release is in this state (0 when rolled back). */
export function canaryWeight(
  router: Pick<RouterDefinition, 'appliedWeight'>,
  plan: Plan,
  state: ReleaseState | undefined,
  target: RoutingSpecs | undefined
): number {
  if (!state || !target || state.phase === 'rolled-back' || state.stageIndex === 0) return 0
  return router.appliedWeight(target, plan, Math.min(state.stageIndex, plan.stages.length))
}
