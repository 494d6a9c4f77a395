/**
 * The commands, one entry each: what it is for (help texts), whether a `/canary` comment may give it, and its
 * rule in the state machine (pure). A new command is one entry here; the compiler asks for every field.
 */
import { inProgress } from './state.js'
import {
  describeState,
  identityDifferences,
  isInProgress,
  mismatchRefusal,
  type Situation,
  type Step
} from './transition.js'

export type EngineCommand = 'advance' | 'promote' | 'verify' | 'rollback' | 'status' | 'retry'

export interface CommandDefinition {
  /** One line for command lists. */
  summary: string
  /** What it does, for `istio-canary <command> --help`. */
  details: readonly string[]
  /** `/canary <command>` in a PR comment may ask for it. */
  viaComment: boolean
  /** It changes the cluster (a `status` run does not, and leaves no commit status). */
  writes: boolean
  decide(situation: Situation): Step
}

const start = (stageIndex: number, retry = false): Step => ({ kind: 'start', stageIndex, retry })

function advanceTo(situation: Situation, promote: boolean): Step {
  const { state, revision, stageCount } = situation
  const last = stageCount
  if (!state) return start(promote ? last : 1)
  if (!inProgress(state.phase)) {
    if (state.release.revision !== revision) return start(promote ? last : 1)
    if (state.phase === 'rolled-back') {
      const reason = state.rollback ? ` (${state.rollback.reason})` : ''
      return {
        kind: 'refuse',
        message: `revision ${revision} was rolled back${reason}; release a new revision, or start this one again with the retry command`
      }
    }
    return {
      kind: 'report',
      outcome: { status: 'unchanged', message: `revision ${revision} is already completed` }
    }
  }
  if (state.release.revision !== revision) {
    return {
      kind: 'refuse',
      message: `revision ${describeState(state, stageCount)} is in progress; finish it or roll it back before releasing ${revision}`
    }
  }
  const mismatch = mismatchRefusal(situation, state)
  if (mismatch) return mismatch
  const unfinished = state.phase === 'watching' || state.phase === 'held'
  if (unfinished && (!promote || state.stageIndex === last))
    return { kind: 'resume', stageIndex: state.stageIndex }
  const next = promote ? last : state.stageIndex + 1
  if (next > last) {
    return {
      kind: 'report',
      outcome: { status: 'unchanged', message: `every stage of ${revision} has passed` }
    }
  }
  return { kind: 'apply', stageIndex: next }
}

export const COMMANDS: Record<EngineCommand, CommandDefinition> = {
  status: {
    summary: 'show the release: stage, ladder, last checks (read-only)',
    details: [
      'Reads the release state recorded on the routing objects and prints it. Changes nothing.',
      'Status: idle, in-progress, completed or rolled-back.'
    ],
    viaComment: true,
    writes: false,
    decide({ state, stageCount }) {
      if (!state) return { kind: 'report', outcome: { status: 'idle', message: 'no release in progress' } }
      const revision = state.release.revision
      if (state.phase === 'completed')
        return { kind: 'report', outcome: { status: 'completed', message: `${revision} completed` } }
      if (state.phase === 'rolled-back') {
        return {
          kind: 'report',
          outcome: {
            status: 'rolled-back',
            message: `${revision} rolled back: ${state.rollback?.reason ?? ''}`
          }
        }
      }
      return { kind: 'report', outcome: { status: 'in-progress', message: describeState(state, stageCount) } }
    }
  },
  advance: {
    summary: 'apply the next stage of the plan and watch it',
    details: [
      'From idle, pins the routing to the stable version and applies stage 1; from a passed stage k,',
      'applies stage k+1. The stage is watched for its bake time: failing checks roll the routing back.',
      'A stage applied but not yet passed is watched again, not skipped. Ctrl-C stops the watch and',
      "applies the plan's onCancel; a second Ctrl-C exits at once."
    ],
    viaComment: true,
    writes: true,
    decide: situation => advanceTo(situation, false)
  },
  verify: {
    summary: "re-run the current stage's checks; roll back if they fail",
    details: [
      "Watches the current stage's checks for a short window: healthy, or rolled back.",
      'Nothing in progress: unchanged.'
    ],
    viaComment: false,
    writes: true,
    decide(situation) {
      const { state } = situation
      if (!isInProgress(state) || state.stageIndex === 0) {
        return { kind: 'report', outcome: { status: 'unchanged', message: 'nothing in progress to verify' } }
      }
      // A watchdog checks what is applied: another revision input is no reason to stop it, other versions are.
      const mismatch = mismatchRefusal(
        { ...situation, identity: { ...situation.identity, revision: state.release.revision } },
        state
      )
      return mismatch ?? { kind: 'verify', stageIndex: state.stageIndex }
    }
  },
  rollback: {
    summary: 'restore the routing to the stable version now',
    details: [
      'Restores the routes the release manages exactly to the rollback target recorded before stage 1;',
      'everything else in the routing objects stays as it is. The canary Deployments keep running.',
      'Never blocked by drift (it is reported as a warning).'
    ],
    viaComment: true,
    writes: true,
    decide(situation) {
      const { state } = situation
      if (!state)
        return { kind: 'report', outcome: { status: 'unchanged', message: 'no release to roll back' } }
      const revision = state.release.revision
      if (state.phase === 'rolled-back') {
        return {
          kind: 'report',
          outcome: { status: 'unchanged', message: `${revision} is already rolled back` }
        }
      }
      if (state.phase === 'completed') {
        return {
          kind: 'report',
          outcome: { status: 'unchanged', message: `${revision} is completed; nothing to roll back` },
          warnings: [`${revision} is completed; the stable version may be gone, so nothing was rolled back`]
        }
      }
      // A rollback is never refused: say what differs instead.
      const notes = identityDifferences(state.release, situation.identity).map(
        difference => `rolling back the release in progress (${revision}) although ${difference}`
      )
      return { kind: 'rollback', notes }
    }
  },
  promote: {
    summary: 'apply the last stage now, skipping the rest, and watch it',
    details: ['Like advance, but jumps straight to the last stage of the plan.'],
    viaComment: true,
    writes: true,
    decide: situation => advanceTo(situation, true)
  },
  retry: {
    summary: 'start a rolled-back revision again from the pin',
    details: [
      'For the revision that was rolled back: pins the routing to stable again and applies stage 1,',
      'recorded in the history. Refused (nothing written) in any other state.'
    ],
    viaComment: true,
    writes: true,
    decide(situation) {
      const { state, revision } = situation
      if (state?.phase !== 'rolled-back') {
        const now = state ? describeState(state, situation.stageCount) : 'no release'
        return {
          kind: 'refuse',
          message: `retry starts a rolled-back revision again, and there is none (${now}); use advance`
        }
      }
      if (state.release.revision !== revision) {
        return {
          kind: 'refuse',
          message: `retry starts the rolled-back revision ${state.release.revision} again, but this run's revision is ${revision}; release ${revision} with advance`
        }
      }
      return start(1, true)
    }
  }
}

export const ENGINE_COMMANDS = Object.keys(COMMANDS) as EngineCommand[]

/** The transition function: the step `command` takes from `situation`. */
export function decide(command: EngineCommand, situation: Situation): Step {
  return COMMANDS[command].decide(situation)
}
