/** The stage ladder as people read it: each stage's traffic split and where the release stands. Pure. */
import type { Plan, Stage, StringMatch } from '../plan/types.js'
import { stageEffect } from '../routers/router.js'
import type { LadderEntry, StageState } from '../report/types.js'
import type { ReleaseState } from './state.js'

function describeMatch(match: StringMatch): string {
  if ('exact' in match) return `= ${match.exact}`
  if ('prefix' in match) return `^= ${match.prefix}`
  return `~ ${match.regex}`
}

export function describeSplit(plan: Plan, stage: Stage, stageIndex: number): string {
  if (stage.kind === 'match') {
    const headers = Object.entries(stage.headers).map(([name, match]) => `${name} ${describeMatch(match)}`)
    return `${headers.join(' and ')} → ${plan.canary}`
  }
  if (stage.kind === 'finalize') {
    return `100% ${plan.canary}${stage.deleteStable ? `, delete ${plan.stable}` : ''}`
  }
  const weight = stageEffect(plan, stageIndex).weight
  return weight === 100
    ? `100% ${plan.canary}`
    : `${100 - weight}% ${plan.stable} / ${weight}% ${plan.canary}`
}

function stateOf(state: ReleaseState | undefined, index: number): StageState {
  if (!state) return 'pending'
  if (state.phase === 'completed') return 'passed'
  if (state.phase === 'rolled-back') {
    const failed = state.rollback?.stageIndex ?? 0
    return index < failed ? 'passed' : index === failed ? 'rolled-back' : 'pending'
  }
  if (index < state.stageIndex) return 'passed'
  if (index > state.stageIndex) return 'pending'
  return state.phase === 'passed' ? 'passed' : 'current'
}

export function buildLadder(plan: Plan, state: ReleaseState | undefined): LadderEntry[] {
  return plan.stages.map((stage, position) => {
    const index = position + 1
    const last = state?.history
      .filter(entry => entry.stageIndex === index && entry.revision === state.revision)
      .at(-1)
    return {
      index,
      name: stage.name,
      kind: stage.kind,
      weight: stageEffect(plan, index).weight,
      split: describeSplit(plan, stage, index),
      state: stateOf(state, index),
      ...(last ? { at: last.at, runId: last.runId } : {})
    }
  })
}

/** Canary share of unmatched traffic while the release is in this state. */
export function weightOf(plan: Plan, state: ReleaseState | undefined): number {
  if (!state || state.phase === 'rolled-back') return 0
  return stageEffect(plan, Math.min(state.stageIndex, plan.stages.length)).weight
}
