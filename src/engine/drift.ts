/**
 * Drift: the routes a release manages changed since the action last wrote them (refused, naming objects and
 * fields), and edits elsewhere in the objects (someone else's: kept, and said).
 */
import { differingPaths } from '../common/json.js'
import type { RoutingSpecs } from '../routers/router.js'
import { ReleaseError } from './context.js'
import type { Release } from './release.js'
import { changedSince, digestsOf, type ReleaseState } from './state.js'

/** The routing the action last wrote, recomputed, to name the fields someone else changed. */
export function expectedSpecs(release: Release, state: ReleaseState, target: RoutingSpecs): RoutingSpecs {
  const { router } = release.ctx
  return state.phase === 'rolled-back'
    ? router.restore(release.snapshot.specs, target, release.plan).specs
    : router.stage(release.snapshot.specs, target, release.plan, state.stageIndex, state.release.revision)
}

/** Drift in the routes the release manages: the message naming objects and fields, or undefined. */
export function driftMessage(
  release: Release,
  state: ReleaseState,
  target = release.snapshot.target
): string | undefined {
  if (!target) return undefined
  const parts = release.ctx.router.parts(release.snapshot.specs, target, release.plan)
  const now = digestsOf(Object.fromEntries(Object.entries(parts).map(([key, part]) => [key, part.managed])))
  const drifted = changedSince(state.written, state.previous, now)
  if (drifted.length === 0) return undefined
  const expected = expectedSpecs(release, state, target)
  const details = drifted.map(key => {
    const fields = differingPaths(expected[key] ?? null, release.snapshot.specs[key] ?? null, 'spec').slice(
      0,
      8
    )
    const label = release.store.label(key)
    return fields.length ? `${label} (${fields.join(', ')})` : label
  })
  return `drift: ${details.join('; ')} changed since this action last wrote it`
}

/** Objects edited outside the managed routes since the action last wrote them: kept, and said. */
export function foreignChanges(
  release: Release,
  state: ReleaseState,
  specs: RoutingSpecs,
  target: RoutingSpecs
): string[] {
  const parts = release.ctx.router.parts(specs, target, release.plan)
  const now = digestsOf(Object.fromEntries(Object.entries(parts).map(([key, part]) => [key, part.rest])))
  return changedSince(state.unmanaged, undefined, now).map(
    key =>
      `${release.store.label(key)} changed outside the routes this release manages; those changes are kept as they are`
  )
}

export function refuseOnDrift(release: Release, state: ReleaseState): void {
  const message = driftMessage(release, state)
  if (message) {
    throw new ReleaseError(
      `${message}. Refusing to continue; restore the routing, or run the rollback command to return to ${release.plan.stable}`
    )
  }
  const target = release.requireTarget()
  for (const change of foreignChanges(release, state, release.snapshot.specs, target))
    release.ctx.log.info(change)
}
