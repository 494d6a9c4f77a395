/** A run's report from what the engine did and saw: the ladder, where the release stands, what comes next. Pure. */
import type { ReleaseResult } from '../engine/result.js'
import type { ReleaseState } from '../engine/state.js'
import { describeSplit, stageEffect } from '../plan/stages.js'
import type { Plan } from '../plan/types.js'
import type { LadderEntry, RunReport, StageState } from './types.js'

function stateOf(state: ReleaseState | undefined, index: number): StageState {
  if (!state) return 'pending'
  if (state.phase === 'completed') return 'passed'
  if (state.phase === 'rolled-back') {
    const failed = state.rollback?.stageIndex ?? 0
    return index < failed ? 'passed' : index === failed ? 'rolled-back' : 'pending'
  }
  if (index < state.stageIndex) return 'passed'
  if (index > state.stageIndex) return 'pending'
  if (state.phase === 'held') return 'held'
  return state.phase === 'passed' ? 'passed' : 'current'
}

export function buildLadder(plan: Plan, state: ReleaseState | undefined): LadderEntry[] {
  return plan.stages.map((stage, position) => {
    const index = position + 1
    const last = state?.history
      .filter(entry => entry.stageIndex === index && entry.revision === state.release.revision)
      .at(-1)
    return {
      index,
      name: stage.name,
      kind: stage.kind,
      weight: stageEffect(plan, index).weight,
      split: describeSplit(plan, index),
      state: stateOf(state, index),
      ...(last ? { at: last.at, runId: last.runId } : {})
    }
  })
}

export function buildRunReport(result: ReleaseResult): RunReport {
  const { plan, state, outcome } = result
  const stages = plan.stages.length
  const inEffect = state && state.phase !== 'rolled-back' && state.stageIndex > 0 ? state.stageIndex : 0
  const stageAt = (index: number) =>
    index > 0 && index <= stages ? { name: plan.stages[index - 1].name, index } : null
  // After a rollback the same revision is refused (retry restarts it): there is no next stage to approve.
  const nextIndex = !state
    ? 1
    : state.phase === 'completed' || state.phase === 'rolled-back'
      ? 0
      : inEffect + 1
  const nextStage = stageAt(nextIndex)
  return {
    command: result.command,
    status: outcome.status,
    message: outcome.message,
    failed: outcome.failed === true,
    dryRun: result.dryRun,
    service: plan.service,
    namespace: plan.namespace,
    router: plan.router,
    objects: result.objects,
    revision: result.revision,
    stable: plan.stable,
    canary: plan.canary,
    stage: stageAt(inEffect),
    nextStage,
    weight: result.weight,
    done: state?.phase === 'completed',
    ladder: buildLadder(plan, state),
    changes: result.changes,
    evaluations: result.evaluations,
    noData: result.noData,
    ...(state?.phase === 'rolled-back' && state.rollback ? { rollback: state.rollback } : {}),
    history: state?.history ?? [],
    // A held stage is watched again by the next advance, not followed by the next stage: its notice says so.
    ...(nextStage && state?.phase !== 'held' ? { approval: { nextStage: nextStage.name } } : {}),
    warnings: result.warnings,
    run: result.run,
    timings: result.timings
  }
}
