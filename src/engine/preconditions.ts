/**
 * What must hold in the cluster before a release writes: the versions' Deployments ready, the routing able to
 * move traffic at every stage, and `deleteStable` unable to hit the canary. Each failure is a ReleaseError that
 * says what to fix; nothing has been written when one is thrown.
 */
import type { Labels } from '../kube/kube-client.js'
import type { RoutingSpecs, VersionSelectors } from '../routers/router.js'
import { ReleaseError, type EngineContext } from './context.js'
import type { ReleaseState } from './state.js'
import { findDeployments, podLabels, selectorText, selects, unreadyReason } from './workloads.js'

function refuse(problems: string[]): void {
  if (problems.length) throw new ReleaseError(`preconditions: ${problems.join('; ')}`)
}

/** The routing can carry the plan: the objects route the service, inserted names are free, and so on. */
export function validateRouting(ctx: EngineContext, current: RoutingSpecs): void {
  refuse(ctx.router.validate(current, ctx.plan))
}

/** Every weight stage moves traffic on the pinned routing. */
export function validateSplit(ctx: EngineContext, target: RoutingSpecs): void {
  refuse(ctx.router.splitProblems(target, ctx.plan))
}

export async function requireCanaryReady(ctx: EngineContext, selectors: VersionSelectors): Promise<void> {
  const { plan, kube } = ctx
  const reason = unreadyReason(
    await findDeployments(kube, plan.namespace, selectors.canary),
    plan.namespace,
    selectors.canary
  )
  if (reason) {
    throw new ReleaseError(
      `preconditions: the canary (${plan.canary}) is not ready: ${reason}; deploy it and wait until it is Available, or add deploy.manifests to the plan`
    )
  }
}

/** The pin sends all traffic to stable: it must be there to take it. */
export async function requireStableReady(
  ctx: EngineContext,
  selectors: VersionSelectors,
  previous: ReleaseState | undefined
): Promise<void> {
  const { plan, kube } = ctx
  const reason = unreadyReason(
    await findDeployments(kube, plan.namespace, selectors.stable),
    plan.namespace,
    selectors.stable
  )
  if (!reason) return
  const serving =
    previous?.phase === 'completed' && previous.release.canary !== plan.stable
      ? `; ${previous.release.canary} is the version serving now (its release completed): set stable: ${previous.release.canary}`
      : '; deploy it, or set stable to the version serving now'
  throw new ReleaseError(
    `preconditions: the stable version (${plan.stable}) cannot take the traffic: ${reason}${serving}`
  )
}

/** Whether every pod the canary selector picks would also be picked by the stable selector. */
function stableSelectsCanary(selectors: VersionSelectors): boolean {
  return selects(selectors.stable, selectors.canary)
}

function overlapMessage(stable: Labels, what: string): string {
  return `preconditions: deleteStable would delete the canary: the stable selector ${selectorText(stable)} also matches ${what}; give the stable version's pods (and its DestinationRule subset or backend Service) a label the canary's lack, e.g. version: v1`
}

/** Before any write of a release with `deleteStable`: the stable selector must not match the canary's pods. */
export function refuseStableCanaryOverlap(ctx: EngineContext, selectors: VersionSelectors): void {
  const deletes = ctx.plan.stages.some(stage => stage.kind === 'finalize' && stage.deleteStable)
  if (deletes && stableSelectsCanary(selectors)) {
    throw new ReleaseError(
      overlapMessage(selectors.stable, `the canary's pods (${selectorText(selectors.canary)})`)
    )
  }
}

/** The stable Deployments `deleteStable` may delete: refused when any of them runs pods the canary selector picks. */
export async function stableDeploymentsToDelete(ctx: EngineContext, selectors: VersionSelectors) {
  const { plan, kube } = ctx
  const stable = await findDeployments(kube, plan.namespace, selectors.stable)
  const canary = await findDeployments(kube, plan.namespace, selectors.canary)
  const canaryNames = new Set(canary.map(deployment => deployment.metadata?.name))
  const hit = stable.filter(
    deployment =>
      selects(selectors.canary, podLabels(deployment)) || canaryNames.has(deployment.metadata?.name)
  )
  if (hit.length > 0 || stableSelectsCanary(selectors)) {
    const names = hit.map(deployment => deployment.metadata?.name).join(', ') || 'the canary Deployments'
    throw new ReleaseError(overlapMessage(selectors.stable, `${names}`))
  }
  return stable
}
