/**
 * Watching a stage and acting on the verdict: pass, hold, roll back, or give way to a rollback or newer write
 * that came meanwhile (transition.ts decides which). Also `verify`, which watches without recording a pass.
 */
import type { WatchOutcome } from '../analysis/types.js'
import { watchStage } from '../analysis/watch.js'
import { formatDuration } from '../common/duration.js'
import type { VersionSelectors } from '../routers/router.js'
import { ReleaseError } from './context.js'
import { driftMessage, refuseOnDrift } from './drift.js'
import { stableDeploymentsToDelete } from './preconditions.js'
import type { Release } from './release.js'
import type { RoutingSnapshot } from './routing-store.js'
import { restoreTarget } from './rollback.js'
import { appendHistory, type ReleaseState } from './state.js'
import { concludeWatch, stillWatched, type Outcome, type Watched } from './transition.js'
import { readPodsHealth } from './workloads.js'

export function watch(
  release: Release,
  durationMs: number,
  selectors: VersionSelectors,
  watched: Watched
): Promise<WatchOutcome> {
  const stage = release.plan.stages[watched.stageIndex - 1]
  const { analysis } = release.plan
  release.ctx.onWatch?.({ revision: watched.revision, stageIndex: watched.stageIndex })
  const stillCurrent = async () => stillWatched(watched, await release.store.readState())
  return release.ctx.log
    .group(`Watch ${stage.name} for ${formatDuration(durationMs)}`, async () => {
      const outcome = await watchStage(analysis.checks, {
        env: {
          plan: release.plan,
          revision: watched.revision,
          stageStartedAt: new Date(watched.appliedAt),
          now: () => new Date(),
          readCanaryPods: () => readPodsHealth(release.ctx.kube, release.plan.namespace, selectors.canary),
          metricTemplate: (template, window) =>
            release.ctx.router.metricTemplate(template, window, release.plan),
          versionCounter: (counter, version) =>
            release.ctx.router.versionCounter(counter, version, release.plan),
          env: release.ctx.env,
          signal: release.ctx.signal
        },
        durationMs,
        intervalMs: analysis.intervalMs,
        failureLimit: analysis.failureLimit,
        onNoData: analysis.onNoData,
        signal: release.ctx.signal,
        onProgress: event => release.ctx.log.progress(event),
        stillCurrent
      })
      release.evaluations.push(...outcome.evaluations)
      return outcome
    })
    .finally(() => release.ctx.onWatch?.(undefined))
}

/**
 * Watches the stage and applies the verdict, after reading the state again: a rollback or newer write that
 * came meanwhile wins (transition.ts decides).
 */
export async function watchAndConclude(
  release: Release,
  index: number,
  durationMs: number,
  selectors: VersionSelectors,
  watched: Watched,
  appliedByThisRun: boolean
): Promise<Outcome> {
  const outcome = await watch(release, durationMs, selectors, watched)
  const fresh = await release.store.read()
  const conclusion = concludeWatch(watched, outcome.result, fresh.state)
  switch (conclusion.kind) {
    case 'superseded':
      release.snapshot = fresh
      if (conclusion.conflict) throw new ReleaseError(conclusion.outcome.message)
      release.warn(conclusion.outcome.message)
      return conclusion.outcome
    case 'rollback': {
      const failing = (outcome as Extract<WatchOutcome, { result: 'failed' }>).failing
      const reason = `${failing.check} ${failing.message}`
      await restoreTarget(release, reason, index, failing)
      return {
        status: 'rolled-back',
        message: `rolled back to ${release.plan.stable}: ${reason}`,
        failed: true
      }
    }
    case 'cancelled':
      if (appliedByThisRun && release.plan.analysis.onCancel === 'rollback') {
        await restoreTarget(release, 'run cancelled during the watch (onCancel: rollback)', index)
        return { status: 'rolled-back', message: `cancelled: rolled back to ${release.plan.stable}` }
      }
      throw new ReleaseError(
        `cancelled during the watch of stage ${index}; the stage stays applied${appliedByThisRun ? ' (onCancel: keep)' : ''} and the next advance watches it again`
      )
    case 'hold':
      release.noData = (outcome as Extract<WatchOutcome, { result: 'inconclusive' }>).noData
      return appliedByThisRun ? markHeld(release, index, fresh) : inconclusiveOutcome(release, index, false)
    case 'pass':
      return appliedByThisRun
        ? markPassed(release, index, fresh)
        : { status: 'healthy', message: `stage ${index} is healthy` }
  }
}

/** A held stage (advance), or a verify whose checks had no data: which checks, and what to do. */
export function inconclusiveOutcome(release: Release, index: number, held = true): Outcome {
  const names = release.noData.map(evaluation => evaluation.check).join(', ')
  const stage = `stage ${index} (${release.plan.stages[index - 1].name})`
  const outcome: Outcome = {
    status: 'inconclusive',
    message: held
      ? `${stage} is held: no data from ${names}; send traffic to the canary, lower minSamples, or roll back`
      : `${stage} is inconclusive: no data from ${names}; nothing was changed (verify does not roll back for missing data)`
  }
  release.warn(outcome.message)
  return outcome
}

export async function markHeld(release: Release, index: number, fresh: RoutingSnapshot): Promise<Outcome> {
  const current = fresh.state as ReleaseState
  release.snapshot = fresh
  const stage = release.plan.stages[index - 1]
  const noData = release.noData.map(evaluation => evaluation.check)
  const state: ReleaseState = {
    ...current,
    phase: 'held',
    noData,
    ...release.runId(),
    history: appendHistory(
      current.history,
      release.event(`held ${stage.name}: no data from ${noData.join(', ')}`, index, release.weightOf(fresh))
    )
  }
  delete state.previous
  await release.write({ desired: fresh.specs, state })
  return inconclusiveOutcome(release, index)
}

export async function markPassed(release: Release, index: number, given?: RoutingSnapshot): Promise<Outcome> {
  const stage = release.plan.stages[index - 1]
  const fresh = given ?? (await release.store.read())
  const current = fresh.state
  if (!current || current.release.revision !== release.ctx.revision || current.stageIndex !== index) {
    throw new ReleaseError(
      `state: the release changed during the watch (now ${current?.release.revision ?? 'none'} stage ${current?.stageIndex ?? 0}); nothing was written`
    )
  }
  release.snapshot = fresh
  const drift = driftMessage(release, current)
  if (drift) throw new ReleaseError(`${drift} during the watch; not marking stage ${stage.name} as passed`)
  if (stage.kind === 'finalize' && stage.deleteStable) await deleteStable(release)
  const completed = index === release.plan.stages.length
  const weight = release.weightOf(fresh)
  const state: ReleaseState = {
    ...current,
    phase: completed ? 'completed' : 'passed',
    ...release.runId(),
    history: appendHistory(
      current.history,
      release.event(
        completed ? `completed ${current.release.revision}` : `passed ${stage.name}`,
        index,
        weight
      )
    )
  }
  delete state.previous
  delete state.noData
  await release.write({ desired: fresh.specs, state })
  return passedOutcome(release, index)
}

export function passedOutcome(release: Release, index: number): Outcome {
  const stage = release.plan.stages[index - 1]
  return index === release.plan.stages.length
    ? { status: 'completed', message: `${release.ctx.revision} completed: ${stage.name} passed` }
    : { status: 'advanced', message: `stage ${index}/${release.plan.stages.length} (${stage.name}) passed` }
}

export async function deleteStable(release: Release): Promise<void> {
  const selectors = await release.versionSelectors()
  const stable = await stableDeploymentsToDelete(release.ctx, selectors)
  for (const place of release.ctx.router.stableRoutedElsewhere(release.snapshot.specs, release.plan)) {
    release.warn(
      `${place} still sends traffic to ${release.plan.stable}, whose Deployments deleteStable deletes now`
    )
  }
  const { namespace } = release.plan
  await release.ctx.log.group(`Delete the stable Deployments (${stable.length})`, async () => {
    for (const deployment of stable) {
      await release.ctx.kube.deleteDeployment(deployment, { dryRun: release.ctx.dryRun })
      const object = `Deployment ${namespace}/${deployment.metadata?.name}`
      release.changes.push({ object, action: 'delete', diff: '' })
      release.ctx.log.info(`deleted ${object}`)
    }
  })
}

export async function verify(release: Release, index: number): Promise<Outcome> {
  const state = release.state as ReleaseState
  refuseOnDrift(release, state)
  const selectors = await release.versionSelectors()
  const watched = { revision: state.release.revision, stageIndex: index, appliedAt: state.appliedAt }
  return watchAndConclude(release, index, release.plan.analysis.verifyWindowMs, selectors, watched, false)
}
