/**
 * Putting the managed routes back to the rollback target: the rollback command, and the rollback a failing check,
 * a cancelled run or a failed deploy asks for. Never blocked by drift or by a writer that slipped in: it reads
 * afresh and tries again, and transient API errors are retried with backoff.
 */
import type { Evaluation } from '../analysis/types.js'
import { KubeError } from '../kube/kube-client.js'
import { ReleaseError } from './context.js'
import { driftMessage, foreignChanges } from './drift.js'
import type { Release } from './release.js'
import { appendHistory, targetAnnotation, type ReleaseState } from './state.js'
import type { Outcome } from './transition.js'

const ATTEMPTS = 3

export async function rollbackCommand(release: Release): Promise<Outcome> {
  const { ctx } = release
  const state = release.state as ReleaseState
  const drift = driftMessage(release, state)
  if (drift) release.warn(`${drift}; rolling back anyway`)
  if (ctx.dryRun) {
    const target = release.requireTarget()
    const { specs } = ctx.router.restore(release.snapshot.specs, target, ctx.plan)
    await release.write({ desired: specs, state: { ...state, phase: 'rolled-back' } })
    return { status: 'planned', message: `dry run: would restore the routing to ${ctx.plan.stable}` }
  }
  await restoreTarget(release, `manual rollback${ctx.actor ? ` by ${ctx.actor}` : ''}`, state.stageIndex)
  return { status: 'rolled-back', message: `rolled back to ${ctx.plan.stable} (manual)` }
}

/** The command that prints the rollback target, for restoring by hand when the API refuses every write. */
function restoreByHand(release: Release): string {
  const { plan, router } = release.ctx
  const { namespace, name } = release.store.primary
  const key = targetAnnotation(plan).replace(/\./g, '\\.')
  return `kubectl -n ${namespace} get ${router.resource.plural}.${router.resource.group} ${name} -o jsonpath='{.metadata.annotations.${key}}' | base64 -d | gunzip  # then apply those specs`
}

export async function restoreTarget(
  release: Release,
  reason: string,
  stageIndex: number,
  failing?: Evaluation
): Promise<void> {
  const { ctx } = release
  await ctx.log.group(`Roll back to ${ctx.plan.stable}`, async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        const fresh = await release.store.read()
        const base = fresh.state ?? release.state
        if (!base) throw new ReleaseError('state: no release state to roll back')
        release.snapshot = fresh
        const target = release.requireTarget()
        const restored = ctx.router.restore(fresh.specs, target, ctx.plan)
        for (const key of restored.reverted) {
          release.warn(
            `${release.store.label(key)} was restored whole: its managed routes no longer pair with the rollback target's, so other edits to it were undone too`
          )
        }
        for (const change of foreignChanges(release, base, fresh.specs, target)) release.warn(change)
        const state: ReleaseState = {
          ...base,
          phase: 'rolled-back',
          ...release.runId(),
          ...release.digests(restored.specs, target),
          previous: release.digests(fresh.specs, target).written,
          rollback: {
            reason,
            stageIndex,
            at: new Date().toISOString(),
            ...(failing ? { check: failing.check, value: failing.value, threshold: failing.threshold } : {})
          },
          history: appendHistory(base.history, release.event(`rolled back: ${reason}`, stageIndex, 0))
        }
        delete state.noData
        await release.write({ desired: restored.specs, state, retry: true })
        return
      } catch (error) {
        if (error instanceof KubeError && error.status === 409 && attempt < ATTEMPTS) {
          release.warn(
            `rollback: the routing changed while restoring it; reading it again (attempt ${attempt + 1})`
          )
          continue
        }
        if (error instanceof KubeError) {
          throw new ReleaseError(
            `rollback failed: ${error.message}. Restore by hand: ${restoreByHand(release)}`
          )
        }
        throw error
      }
    }
  })
}
