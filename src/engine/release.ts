/**
 * The commands: advance, verify, rollback, promote, status. Each reads the release state from the cluster,
 * checks every precondition before its first write, moves the routing, watches the stage and reports.
 */
import { watchStage } from '../analysis/index.js'
import type { Evaluation, WatchOutcome } from '../analysis/types.js'
import { KubeError } from '../kube/kube-client.js'
import type { RoutingSpecs, VersionSelectors } from '../routers/router.js'
import { stageEffect } from '../routers/router.js'
import type { Change, Command, RunReport, RunStatus } from '../report/types.js'
import { formatDuration } from '../plan/duration.js'
import { type EngineContext, ReleaseError } from './context.js'
import { applyManifests, readManifests } from './deploy.js'
import { differingPaths, jsonEqual } from './json.js'
import { buildLadder, weightOf } from './ladder.js'
import { type RoutingSnapshot, RoutingStore } from './routing-store.js'
import {
  digestsOf,
  driftedObjects,
  type Phase,
  type ReleaseState,
  unconvergedObjects,
  appendHistory
} from './state.js'
import { findDeployments, readPodsHealth, unreadyReason, waitUntilAvailable } from './workloads.js'

export type EngineCommand = Exclude<Command, 'comment'>

interface Outcome {
  status: RunStatus
  message: string
}

export class Release {
  private readonly store: RoutingStore
  private readonly changes: Change[] = []
  private readonly evaluations: Evaluation[] = []
  private readonly warnings: string[] = []
  private readonly startedAt = new Date()
  private snapshot!: RoutingSnapshot
  private weightBefore = 0

  constructor(private readonly ctx: EngineContext) {
    this.store = new RoutingStore(ctx.kube, ctx.router, ctx.plan)
  }

  private get plan() {
    return this.ctx.plan
  }

  private get state(): ReleaseState | undefined {
    return this.snapshot.state
  }

  async run(command: EngineCommand): Promise<RunReport> {
    this.snapshot = await this.ctx.log.group('Read the routing', () => this.readRouting())
    this.weightBefore = weightOf(this.plan, this.state)
    const outcome = await this.dispatch(command)
    return this.report(command, outcome)
  }

  /**
   * The post step's job when the main process was killed mid-watch: if the stage that run applied is still
   * being watched, apply onCancel to it.
   */
  async finishInterrupted(watching: { revision: string; stageIndex: number }): Promise<RunReport> {
    this.snapshot = await this.readRouting()
    this.weightBefore = weightOf(this.plan, this.state)
    const state = this.state
    const interrupted =
      state?.phase === 'watching' &&
      state.revision === watching.revision &&
      state.stageIndex === watching.stageIndex
    let outcome: Outcome = { status: 'unchanged', message: 'the main step finished its stage; nothing to do' }
    if (interrupted && this.plan.analysis.onCancel === 'rollback') {
      await this.rollback(
        'run cancelled during the watch (onCancel: rollback, applied by the post step)',
        watching.stageIndex
      )
      outcome = { status: 'rolled-back', message: `cancelled: rolled back to ${this.plan.stable}` }
    } else if (interrupted) {
      outcome = {
        status: 'unchanged',
        message: 'cancelled during the watch; the stage stays applied (onCancel: keep)'
      }
    }
    return this.report('advance', outcome)
  }

  private dispatch(command: EngineCommand): Promise<Outcome> {
    switch (command) {
      case 'advance':
        return this.advance(false)
      case 'promote':
        return this.advance(true)
      case 'verify':
        return this.verify()
      case 'rollback':
        return this.rollbackCommand()
      case 'status':
        return Promise.resolve(this.statusOutcome())
    }
  }

  // ---- reading and checking ------------------------------------------------------------------------

  private async readRouting(): Promise<RoutingSnapshot> {
    const snapshot = await this.store.read()
    const primary = this.ctx.router.primaryName(this.plan)
    if (!snapshot.objects[primary] && !(await this.ctx.kube.namespaceExists(this.plan.namespace))) {
      throw new ReleaseError(
        `preconditions: namespace '${this.plan.namespace}' not found; fix the plan's namespace or create it`
      )
    }
    const state = snapshot.state
    this.ctx.log.info(
      state
        ? `release ${state.revision}: stage ${state.stageIndex}/${this.plan.stages.length}, ${state.phase}`
        : `no release recorded on ${this.ctx.router.resource.kind} ${this.plan.namespace}/${primary}`
    )
    return snapshot
  }

  /** The routing the action last wrote, recomputed, to name the fields someone else changed. */
  private expectedSpecs(state: ReleaseState): RoutingSpecs | undefined {
    const target = this.snapshot.target
    if (!target) return undefined
    return state.phase === 'rolled-back'
      ? target
      : this.ctx.router.stageSpecs(target, this.plan, state.stageIndex)
  }

  private driftMessage(state: ReleaseState): string | undefined {
    const drifted = driftedObjects(state, this.snapshot.specs)
    if (drifted.length === 0) return undefined
    const expected = this.expectedSpecs(state)
    const details = drifted.map(name => {
      const fields = expected
        ? differingPaths(expected[name] ?? null, this.snapshot.specs[name] ?? null, 'spec').slice(0, 8)
        : []
      const label = `${this.ctx.router.resource.kind} ${this.plan.namespace}/${name}`
      return fields.length ? `${label} (${fields.join(', ')})` : label
    })
    return `drift: ${details.join('; ')} changed since this action last wrote it`
  }

  private refuseOnDrift(state: ReleaseState): void {
    const message = this.driftMessage(state)
    if (message) {
      throw new ReleaseError(
        `${message}. Refusing to continue; restore the routing, or run the rollback command to return to ${this.plan.stable}`
      )
    }
  }

  private async versionSelectors(): Promise<VersionSelectors> {
    return this.ctx.router.readVersionSelectors(this.ctx.kube, this.plan)
  }

  private async requireCanaryReady(selectors: VersionSelectors): Promise<void> {
    const deployments = await findDeployments(this.ctx.kube, this.plan.namespace, selectors.canary)
    const reason = unreadyReason(deployments, this.plan.namespace, selectors.canary)
    if (reason) {
      throw new ReleaseError(
        `preconditions: the canary (${this.plan.canary}) is not ready: ${reason}; deploy it and wait until it is Available, or add deploy.manifests to the plan`
      )
    }
  }

  private validateRouting(specs: RoutingSpecs): void {
    const problems = this.ctx.router.validate(specs, this.plan)
    if (problems.length) throw new ReleaseError(`preconditions: ${problems.join('; ')}`)
  }

  // ---- advance and promote -------------------------------------------------------------------------

  private async advance(promote: boolean): Promise<Outcome> {
    const state = this.state
    const last = this.plan.stages.length
    const revision = this.ctx.revision
    if (
      !state ||
      ((state.phase === 'completed' || state.phase === 'rolled-back') && state.revision !== revision)
    ) {
      return this.startRelease(promote ? last : 1)
    }
    if (state.revision !== revision) {
      throw new ReleaseError(
        `revision ${state.revision} is in progress (stage ${state.stageIndex}/${last}, ${state.phase}); finish it or roll it back before releasing ${revision}`
      )
    }
    if (state.phase === 'rolled-back') {
      throw new ReleaseError(
        `revision ${revision} was rolled back${state.rollback ? ` (${state.rollback.reason})` : ''}; release a new revision (input 'revision') to try again`
      )
    }
    if (state.phase === 'completed') {
      return { status: 'unchanged', message: `revision ${revision} is already completed` }
    }
    this.refuseOnDrift(state)
    const target = this.requireTarget()
    this.validateRouting(target)
    const selectors = await this.versionSelectors()
    if (state.phase === 'watching' && (!promote || state.stageIndex === last)) {
      // A run died mid-stage: converge to that stage and watch it again instead of skipping it.
      await this.requireCanaryReady(selectors)
      return this.applyStage(target, state.stageIndex, selectors)
    }
    if (state.phase === 'pinned' && this.plan.deploy) {
      await this.deployCanary(selectors)
    }
    await this.requireCanaryReady(selectors)
    const next = promote ? last : state.stageIndex + 1
    if (next > last) return { status: 'unchanged', message: `every stage of ${revision} has passed` }
    return this.applyStage(target, next, selectors)
  }

  private requireTarget(): RoutingSpecs {
    if (!this.snapshot.target) {
      throw new ReleaseError(
        'state: the rollback target annotation is missing from the routing object; roll back by hand, then remove the state annotation to start over'
      )
    }
    return this.snapshot.target
  }

  private async startRelease(toIndex: number): Promise<Outcome> {
    this.validateRouting(this.snapshot.specs)
    const target = this.ctx.router.pin(this.snapshot.specs, this.plan)
    const selectors = await this.versionSelectors()
    if (!this.plan.deploy) await this.requireCanaryReady(selectors)
    // A missing or invalid manifest is a plan error: report it before the pin is written.
    else readManifests(this.plan, this.ctx.workspace)
    if (this.ctx.dryRun) return this.dryRun(target, toIndex)
    const now = new Date().toISOString()
    const pinned: ReleaseState = {
      revision: this.ctx.revision,
      stageIndex: 0,
      phase: 'pinned',
      appliedAt: now,
      runId: this.ctx.run.id,
      written: digestsOf(target),
      previous: digestsOf(this.snapshot.specs),
      history: appendHistory(this.state?.history ?? [], this.event('pinned to ' + this.plan.stable, 0, 0))
    }
    await this.ctx.log.group(`Pin routing to ${this.plan.stable}`, () =>
      this.write({ desired: target, state: pinned, target })
    )
    if (this.plan.deploy) {
      await this.deployCanary(selectors)
      await this.requireCanaryReady(selectors)
    }
    return this.applyStage(target, toIndex, selectors)
  }

  private async deployCanary(selectors: VersionSelectors): Promise<void> {
    const deploy = this.plan.deploy
    if (!deploy) return
    const manifests = readManifests(this.plan, this.ctx.workspace)
    await this.ctx.log.group(`Deploy ${this.plan.canary}`, async () => {
      await applyManifests(this.ctx.kube, manifests, this.ctx.dryRun, line => this.ctx.log.info(line))
      const reason = await waitUntilAvailable(
        this.ctx.kube,
        this.plan.namespace,
        selectors.canary,
        deploy.timeoutMs,
        this.ctx.signal
      )
      if (reason) {
        await this.rollback(
          `deploy: the canary did not become Available within ${formatDuration(deploy.timeoutMs)}: ${reason}`,
          0
        )
        throw new ReleaseError(
          `deploy: the canary did not become Available within ${formatDuration(deploy.timeoutMs)}: ${reason}; routing stays on ${this.plan.stable}`
        )
      }
    })
  }

  private dryRun(target: RoutingSpecs, toIndex: number): Promise<Outcome> {
    const desired = this.ctx.router.stageSpecs(target, this.plan, toIndex)
    const state: ReleaseState = {
      revision: this.ctx.revision,
      stageIndex: toIndex,
      phase: 'watching',
      appliedAt: new Date().toISOString(),
      written: digestsOf(desired),
      history: []
    }
    return this.ctx.log.group(
      `Dry run: stage ${toIndex} (${this.plan.stages[toIndex - 1].name})`,
      async () => {
        await this.write({ desired, state, target })
        for (const change of this.changes) this.ctx.log.info(change.diff)
        return {
          status: 'planned' as const,
          message: `dry run: would apply stage ${toIndex} (${this.plan.stages[toIndex - 1].name}); the cluster validated ${this.changes.length} change(s), nothing was persisted`
        }
      }
    )
  }

  private async applyStage(
    target: RoutingSpecs,
    index: number,
    selectors: VersionSelectors
  ): Promise<Outcome> {
    const stage = this.plan.stages[index - 1]
    const desired = this.ctx.router.stageSpecs(target, this.plan, index)
    const current = this.state
    if (this.ctx.dryRun) return this.dryRun(target, index)
    const bakeMs = stage.bakeMs ?? this.plan.analysis.bakeMs
    // Nothing to watch: the stage passes in the same write, when that write is the primary object alone (a lost
    // write of another object must stay visible as unfinished, so that case goes through the watch phase).
    const primary = this.ctx.router.primaryName(this.plan)
    const onlyPrimaryChanges = Object.keys(desired).every(
      name => name === primary || jsonEqual(desired[name], this.snapshot.specs[name] ?? null)
    )
    const nothingToWatch =
      bakeMs === 0 &&
      this.plan.analysis.checks.length === 0 &&
      stage.kind !== 'finalize' &&
      onlyPrimaryChanges
    const resumed = current?.phase === 'watching' && current.stageIndex === index
    const appliedAt = resumed && current ? current.appliedAt : new Date().toISOString()
    const weight = stageEffect(this.plan, index).weight
    const state: ReleaseState = {
      ...(current as ReleaseState),
      stageIndex: index,
      phase: nothingToWatch ? 'passed' : 'watching',
      appliedAt,
      runId: this.ctx.run.id,
      written: digestsOf(desired),
      previous: digestsOf(this.snapshot.specs),
      history: appendHistory(current?.history ?? [], this.event(`applied ${stage.name}`, index, weight))
    }
    if (nothingToWatch)
      state.history = appendHistory(state.history, this.event(`passed ${stage.name}`, index, weight))
    if (nothingToWatch) delete state.previous
    const title = resumed
      ? `Resume stage ${index}/${this.plan.stages.length}: ${stage.name}`
      : `Apply stage ${index}/${this.plan.stages.length}: ${stage.name}`
    if (!resumed || unconvergedObjects(current as ReleaseState, this.snapshot.specs).length > 0 || !current) {
      await this.ctx.log.group(title, () => this.write({ desired, state }))
    } else {
      this.ctx.log.info(`${title}: routing already in place`)
    }
    if (nothingToWatch) return this.passedOutcome(index)
    if (bakeMs === 0 && this.plan.analysis.checks.length === 0 && stage.kind !== 'finalize')
      return this.markPassed(index)
    const outcome = await this.watch(index, bakeMs, selectors, appliedAt)
    return this.afterWatch(outcome, index, true)
  }

  private async watch(
    index: number,
    durationMs: number,
    selectors: VersionSelectors,
    appliedAt: string
  ): Promise<WatchOutcome> {
    const stage = this.plan.stages[index - 1]
    const { analysis } = this.plan
    this.ctx.onWatch?.({ revision: this.ctx.revision, stageIndex: index })
    try {
      return await this.ctx.log.group(`Watch ${stage.name} for ${formatDuration(durationMs)}`, async () => {
        const outcome = await watchStage(analysis.checks, {
          env: {
            plan: this.plan,
            revision: this.ctx.revision,
            stageStartedAt: new Date(appliedAt),
            now: () => new Date(),
            readCanaryPods: () => readPodsHealth(this.ctx.kube, this.plan.namespace, selectors.canary),
            env: this.ctx.env,
            signal: this.ctx.signal
          },
          durationMs,
          intervalMs: analysis.intervalMs,
          failureLimit: analysis.failureLimit,
          onNoData: analysis.onNoData,
          signal: this.ctx.signal,
          log: line => this.ctx.log.info(line)
        })
        this.evaluations.push(...outcome.evaluations)
        return outcome
      })
    } finally {
      this.ctx.onWatch?.(undefined)
    }
  }

  /** Applies the watch's verdict: pass the stage, roll back, or (cancelled) apply onCancel. */
  private async afterWatch(
    outcome: WatchOutcome,
    index: number,
    stageAppliedByThisRun: boolean
  ): Promise<Outcome> {
    if (outcome.result === 'failed') {
      const failing = outcome.failing
      const reason = `${failing.check} ${failing.message}`
      await this.rollback(reason, index, failing)
      return { status: 'rolled-back', message: `rolled back to ${this.plan.stable}: ${reason}` }
    }
    if (outcome.result === 'cancelled') {
      if (stageAppliedByThisRun && this.plan.analysis.onCancel === 'rollback') {
        await this.rollback('run cancelled during the watch (onCancel: rollback)', index)
        return { status: 'rolled-back', message: `cancelled: rolled back to ${this.plan.stable}` }
      }
      throw new ReleaseError(
        `cancelled during the watch of stage ${index}; the stage stays applied (onCancel: keep) and the next advance watches it again`
      )
    }
    if (!stageAppliedByThisRun) return { status: 'healthy', message: `stage ${index} is healthy` }
    return this.markPassed(index)
  }

  private async markPassed(index: number): Promise<Outcome> {
    const stage = this.plan.stages[index - 1]
    const fresh = await this.store.read()
    const current = fresh.state
    if (!current || current.revision !== this.ctx.revision || current.stageIndex !== index) {
      throw new ReleaseError(
        `state: the release changed during the watch (now ${current?.revision ?? 'none'} stage ${current?.stageIndex ?? 0}); nothing was written`
      )
    }
    this.snapshot = fresh
    const drift = this.driftMessage(current)
    if (drift) throw new ReleaseError(`${drift} during the watch; not marking stage ${stage.name} as passed`)
    if (stage.kind === 'finalize' && stage.deleteStable) await this.deleteStable()
    const weight = stageEffect(this.plan, index).weight
    const completed = index === this.plan.stages.length
    const phase: Phase = completed ? 'completed' : 'passed'
    const state: ReleaseState = {
      ...current,
      phase,
      runId: this.ctx.run.id,
      history: appendHistory(
        current.history,
        this.event(completed ? `completed ${this.ctx.revision}` : `passed ${stage.name}`, index, weight)
      )
    }
    delete state.previous
    await this.write({ desired: fresh.specs, state })
    return this.passedOutcome(index)
  }

  private passedOutcome(index: number): Outcome {
    const stage = this.plan.stages[index - 1]
    return index === this.plan.stages.length
      ? { status: 'completed', message: `${this.ctx.revision} completed: ${stage.name} passed` }
      : { status: 'advanced', message: `stage ${index}/${this.plan.stages.length} (${stage.name}) passed` }
  }

  private async deleteStable(): Promise<void> {
    const selectors = await this.versionSelectors()
    const stable = await findDeployments(this.ctx.kube, this.plan.namespace, selectors.stable)
    await this.ctx.log.group(`Delete the stable Deployments (${stable.length})`, async () => {
      for (const deployment of stable) {
        await this.ctx.kube.deleteDeployment(deployment, { dryRun: this.ctx.dryRun })
        this.changes.push({
          object: `Deployment ${this.plan.namespace}/${deployment.metadata?.name}`,
          action: 'delete',
          diff: ''
        })
        this.ctx.log.info(`deleted Deployment ${this.plan.namespace}/${deployment.metadata?.name}`)
      }
    })
  }

  // ---- verify, rollback, status --------------------------------------------------------------------

  private async verify(): Promise<Outcome> {
    const state = this.state
    if (!state || state.phase === 'completed' || state.phase === 'rolled-back' || state.stageIndex === 0) {
      return { status: 'unchanged', message: 'nothing in progress to verify' }
    }
    this.refuseOnDrift(state)
    const selectors = await this.versionSelectors()
    const outcome = await this.watch(
      state.stageIndex,
      this.plan.analysis.verifyWindowMs,
      selectors,
      state.appliedAt
    )
    return this.afterWatch(outcome, state.stageIndex, false)
  }

  private async rollbackCommand(): Promise<Outcome> {
    const state = this.state
    if (!state) return { status: 'unchanged', message: 'no release to roll back' }
    if (state.phase === 'rolled-back')
      return { status: 'unchanged', message: `${state.revision} is already rolled back` }
    if (state.phase === 'completed') {
      this.warnings.push(
        `${state.revision} is completed; the stable version may be gone, so nothing was rolled back`
      )
      return { status: 'unchanged', message: `${state.revision} is completed; nothing to roll back` }
    }
    const drift = this.driftMessage(state)
    if (drift) this.warn(`${drift}; rolling back anyway`)
    if (this.ctx.dryRun) {
      const target = this.requireTarget()
      await this.write({ desired: target, state: { ...state, phase: 'rolled-back' } })
      return { status: 'planned', message: `dry run: would restore the routing to ${this.plan.stable}` }
    }
    await this.rollback(`manual rollback${this.ctx.actor ? ` by ${this.ctx.actor}` : ''}`, state.stageIndex)
    return { status: 'rolled-back', message: `rolled back to ${this.plan.stable} (manual)` }
  }

  /**
   * Restores the rollback target. Reads afresh and retries: a rollback must not be blocked by drift or by a
   * writer that slipped in, and transient API errors are retried with backoff.
   */
  private async rollback(reason: string, stageIndex: number, failing?: Evaluation): Promise<void> {
    await this.ctx.log.group(`Roll back to ${this.plan.stable}`, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const fresh = await this.store.read()
          const base = fresh.state ?? this.state
          const target = fresh.target ?? this.requireTarget()
          if (!base) throw new ReleaseError('state: no release state to roll back')
          const at = new Date().toISOString()
          const state: ReleaseState = {
            ...base,
            phase: 'rolled-back',
            runId: this.ctx.run.id,
            written: digestsOf(target),
            previous: digestsOf(fresh.specs),
            rollback: {
              reason,
              stageIndex,
              at,
              ...(failing ? { check: failing.check, value: failing.value, threshold: failing.threshold } : {})
            },
            history: appendHistory(base.history, this.event(`rolled back: ${reason}`, stageIndex, 0))
          }
          this.snapshot = fresh
          await this.write({ desired: target, state, retry: true })
          return
        } catch (error) {
          if (error instanceof KubeError && error.status === 409 && attempt < 3) {
            this.warn(
              `rollback: the routing changed while restoring it; reading it again (attempt ${attempt + 1})`
            )
            continue
          }
          if (error instanceof KubeError) {
            throw new ReleaseError(
              `rollback failed: ${error.message}. Restore by hand: kubectl -n ${this.plan.namespace} get ${this.ctx.router.resource.plural}.${this.ctx.router.resource.group} ${this.ctx.router.primaryName(this.plan)} -o jsonpath='{.metadata.annotations.istio-canary-action\\.github\\.io/rollback-target}' | base64 -d | gunzip  # then apply those specs`
            )
          }
          throw error
        }
      }
    })
  }

  private statusOutcome(): Outcome {
    const state = this.state
    if (!state) return { status: 'idle', message: 'no release in progress' }
    if (state.phase === 'completed') return { status: 'completed', message: `${state.revision} completed` }
    if (state.phase === 'rolled-back') {
      return {
        status: 'rolled-back',
        message: `${state.revision} rolled back: ${state.rollback?.reason ?? ''}`
      }
    }
    const drift = this.driftMessage(state)
    if (drift) this.warn(drift)
    return {
      status: 'in-progress',
      message: `${state.revision} at stage ${state.stageIndex}/${this.plan.stages.length} (${state.phase})`
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  private async write(request: {
    desired: RoutingSpecs
    state: ReleaseState
    target?: RoutingSpecs
    retry?: boolean
  }) {
    const { snapshot, changes } = await this.store.write(this.snapshot, {
      ...request,
      dryRun: this.ctx.dryRun
    })
    for (const change of changes)
      this.ctx.log.info(
        `${change.action} ${change.object}${this.ctx.dryRun ? ' (dry run, validated by the cluster)' : ''}`
      )
    this.changes.push(...changes)
    if (!this.ctx.dryRun) this.snapshot = snapshot
  }

  private warn(message: string): void {
    this.warnings.push(message)
    this.ctx.log.warning(message)
  }

  private event(event: string, stageIndex: number, weight: number) {
    return {
      at: new Date().toISOString(),
      revision: this.ctx.revision,
      event,
      runId: this.ctx.run.id,
      stageIndex,
      weight
    }
  }

  private report(command: EngineCommand, outcome: Outcome): RunReport {
    const plan = this.plan
    // A dry run never updates the snapshot, so this is the state before the run; otherwise after it.
    const shown = this.state
    const inEffect = shown && shown.phase !== 'rolled-back' && shown.stageIndex > 0 ? shown.stageIndex : 0
    const stageAt = (index: number) =>
      index > 0 && index <= plan.stages.length ? { name: plan.stages[index - 1].name, index } : null
    const done = shown?.phase === 'completed'
    const nextIndex =
      !shown || shown.phase === 'rolled-back' ? 1 : shown.phase === 'completed' ? 0 : inEffect + 1
    const finishedAt = new Date()
    const nextStage = stageAt(nextIndex)
    return {
      command,
      status: outcome.status,
      message: outcome.message,
      dryRun: this.ctx.dryRun,
      service: plan.service,
      namespace: plan.namespace,
      router: plan.router,
      revision: shown?.revision ?? this.ctx.revision,
      stable: plan.stable,
      canary: plan.canary,
      stage: stageAt(inEffect),
      nextStage,
      weight: { before: this.weightBefore, after: weightOf(plan, shown) },
      done,
      ladder: buildLadder(plan, shown),
      changes: this.changes,
      evaluations: this.evaluations,
      ...(shown?.phase === 'rolled-back' && shown.rollback ? { rollback: shown.rollback } : {}),
      history: shown?.history ?? [],
      // After a rollback the same revision is refused: there is no next stage to approve.
      ...(nextStage && shown?.phase !== 'rolled-back' ? { approval: { nextStage: nextStage.name } } : {}),
      warnings: this.warnings,
      run: this.ctx.run,
      timings: {
        startedAt: this.startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - this.startedAt.getTime()
      }
    }
  }
}
