/** Moving the routing forward: the pin and first stage of a release, the next stage, a stage resumed. */
import { formatDuration } from '../common/duration.js'
import { jsonEqual } from '../common/json.js'
import type { RoutingSpecs, VersionSelectors } from '../routers/router.js'
import { watchAndConclude, markPassed, passedOutcome } from './conclude.js'
import { ReleaseError } from './context.js'
import { applyManifests, readManifests } from './deploy.js'
import { refuseOnDrift } from './drift.js'
import {
  refuseStableCanaryOverlap,
  requireCanaryReady,
  requireStableReady,
  validateRouting,
  validateSplit
} from './preconditions.js'
import type { Release } from './release.js'
import { restoreTarget } from './rollback.js'
import { appendHistory, unconverged, type ReleaseState } from './state.js'
import type { Outcome } from './transition.js'
import { waitUntilAvailable } from './workloads.js'

export async function start(release: Release, stageIndex: number, retry: boolean): Promise<Outcome> {
  const current = release.snapshot.specs
  validateRouting(release.ctx, current)
  const target = release.ctx.router.pin(current, release.plan)
  validateSplit(release.ctx, target)
  const selectors = await release.versionSelectors()
  refuseStableCanaryOverlap(release.ctx, selectors)
  await requireStableReady(release.ctx, selectors, release.state)
  if (!release.plan.deploy) await requireCanaryReady(release.ctx, selectors)
  // A missing or invalid manifest is a plan error: report it before the pin is written.
  else readManifests(release.plan, release.ctx.workspace)
  const pinned: ReleaseState = {
    release: release.situation().identity,
    stageIndex: 0,
    phase: 'pinned',
    appliedAt: new Date().toISOString(),
    ...release.runId(),
    ...release.digests(target, target),
    previous: release.digests(current, target).written,
    history: appendHistory(
      release.state?.history ?? [],
      release.event(`${retry ? 'retry: ' : ''}pinned to ${release.plan.stable}`, 0, 0)
    )
  }
  if (release.ctx.dryRun) return dryRun(release, target, stageIndex, pinned)
  await release.ctx.log.group(`Pin routing to ${release.plan.stable}`, () =>
    release.write({ desired: target, state: pinned, target })
  )
  if (release.plan.deploy) {
    await deployCanary(release, selectors)
    await requireCanaryReady(release.ctx, selectors)
  }
  return applyStage(release, target, stageIndex, selectors, false)
}

export async function advance(release: Release, stageIndex: number, resumed: boolean): Promise<Outcome> {
  const state = release.state as ReleaseState
  refuseOnDrift(release, state)
  const target = release.requireTarget()
  const selectors = await release.versionSelectors()
  if (!resumed && state.phase === 'pinned' && release.plan.deploy) await deployCanary(release, selectors)
  await requireCanaryReady(release.ctx, selectors)
  return applyStage(release, target, stageIndex, selectors, resumed)
}

export async function deployCanary(release: Release, selectors: VersionSelectors): Promise<void> {
  const deploy = release.plan.deploy
  if (!deploy) return
  const manifests = readManifests(release.plan, release.ctx.workspace)
  await release.ctx.log.group(`Deploy ${release.plan.canary}`, async () => {
    await applyManifests(release.ctx.kube, manifests, release.ctx.dryRun, line => release.ctx.log.info(line))
    const { namespace } = release.plan
    const reason = await waitUntilAvailable(
      release.ctx.kube,
      namespace,
      selectors.canary,
      deploy.timeoutMs,
      release.ctx.signal
    )
    if (reason) {
      const why = `deploy: the canary did not become Available within ${formatDuration(deploy.timeoutMs)}: ${reason}`
      await restoreTarget(release, why, 0)
      throw new ReleaseError(`${why}; routing stays on ${release.plan.stable}`)
    }
  })
}

export function dryRun(
  release: Release,
  target: RoutingSpecs,
  stageIndex: number,
  state: ReleaseState
): Promise<Outcome> {
  const desired = release.ctx.router.stage(
    release.snapshot.specs,
    target,
    release.plan,
    stageIndex,
    release.ctx.revision
  )
  const name = release.plan.stages[stageIndex - 1].name
  return release.ctx.log.group(`Dry run: stage ${stageIndex} (${name})`, async () => {
    await release.write({ desired, state: { ...state, stageIndex, phase: 'watching' }, target })
    for (const change of release.changes) release.ctx.log.info(change.diff)
    return {
      status: 'planned' as const,
      message: `dry run: would apply stage ${stageIndex} (${name}); the cluster validated ${release.changes.length} change(s), nothing was persisted`
    }
  })
}

export async function applyStage(
  release: Release,
  target: RoutingSpecs,
  index: number,
  selectors: VersionSelectors,
  resumed: boolean
): Promise<Outcome> {
  const current = release.state as ReleaseState
  const stage = release.plan.stages[index - 1]
  if (release.ctx.dryRun) return dryRun(release, target, index, current)
  const desired = release.ctx.router.stage(
    release.snapshot.specs,
    target,
    release.plan,
    index,
    current.release.revision
  )
  const bakeMs = stage.bakeMs ?? release.plan.analysis.bakeMs
  const unwatched = bakeMs === 0 && release.plan.analysis.checks.length === 0 && stage.kind !== 'finalize'
  // Nothing to watch: the stage passes in the same write, when that write is the first object alone (a lost
  // write of another object must stay visible as unfinished, so that case goes through the watch phase).
  const primary = release.store.primary.key
  const nothingToWatch =
    unwatched &&
    Object.keys(desired).every(
      key => key === primary || jsonEqual(desired[key], release.snapshot.specs[key] ?? null)
    )
  const appliedAt = resumed ? current.appliedAt : new Date().toISOString()
  const weight = release.ctx.router.appliedWeight(target, release.plan, index)
  const written = release.digests(desired, target)
  const last = index === release.plan.stages.length
  const state: ReleaseState = {
    ...current,
    stageIndex: index,
    phase: nothingToWatch ? (last ? 'completed' : 'passed') : 'watching',
    appliedAt,
    ...release.runId(),
    ...written,
    previous: release.digests(release.snapshot.specs, target).written,
    history: appendHistory(
      current.history,
      release.event(`${resumed ? 're-watching' : 'applied'} ${stage.name}`, index, weight)
    )
  }
  delete state.noData
  if (nothingToWatch) {
    const passed = last ? `completed ${current.release.revision}` : `passed ${stage.name}`
    state.history = appendHistory(state.history, release.event(passed, index, weight))
    delete state.previous
  }
  const title = `${resumed ? 'Resume' : 'Apply'} stage ${index}/${release.plan.stages.length}: ${stage.name}`
  if (
    !resumed ||
    current.phase !== 'watching' ||
    unconverged(current.written, release.digests(release.snapshot.specs, target).written).length > 0
  ) {
    await release.ctx.log.group(title, () => release.write({ desired, state }))
  } else {
    release.ctx.log.info(`${title}: routing already in place`)
    // The run that wrote it may have died before its controller answered: ask again before watching.
    await release.confirmAccepted()
  }
  if (nothingToWatch) return passedOutcome(release, index)
  // Nothing to watch: the routing this run has just written is the one to mark, with no read in between.
  if (unwatched) return markPassed(release, index, release.snapshot)
  return watchAndConclude(
    release,
    index,
    bakeMs,
    selectors,
    { revision: current.release.revision, stageIndex: index, appliedAt },
    true
  )
}
