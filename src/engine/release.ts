/**
 * Runs one command against the cluster: reads the routing, asks the transition function (commands.ts) for the
 * step to take, and does that step's I/O (pin, apply, watch, record, roll back). Every precondition is checked
 * before the first write.
 */
import type { Evaluation } from '../analysis/types.js'
import type { RoutingSpecs, VersionSelectors } from '../routers/router.js'
import { advance, start } from './apply.js'
import { decide, type EngineCommand } from './commands.js'
import { verify } from './conclude.js'
import { ReleaseError, type EngineContext } from './context.js'
import { driftMessage } from './drift.js'
import type { ReleaseResult } from './result.js'
import { restoreTarget, rollbackCommand } from './rollback.js'
import { RoutingStore, type Accepted, type Change, type RoutingSnapshot } from './routing-store.js'
import { digestsOf, inProgress, type HistoryEntry, type ReleaseState } from './state.js'
import { canaryWeight, identityOf, type Outcome, type Situation, type Step } from './transition.js'

export class Release {
  readonly store: RoutingStore
  readonly changes: Change[] = []
  readonly warnings: string[] = []
  readonly evaluations: Evaluation[] = []
  noData: Evaluation[] = []
  private readonly startedAt = new Date()
  snapshot!: RoutingSnapshot
  private weightBefore = 0

  constructor(readonly ctx: EngineContext) {
    this.store = new RoutingStore(ctx.kube, ctx.router, ctx.plan, ctx.signal)
  }

  get plan() {
    return this.ctx.plan
  }

  get state(): ReleaseState | undefined {
    return this.snapshot.state
  }

  async run(command: EngineCommand): Promise<ReleaseResult> {
    this.snapshot = await this.ctx.log.group('Read the routing', () => this.readRouting())
    this.weightBefore = this.weightOf(this.snapshot)
    const outcome = await this.perform(decide(command, this.situation()))
    return this.result(command, outcome)
  }

  /**
   * The post step's job when the main process was killed mid-watch: if the stage that run applied is still
   * being watched, apply onCancel to it.
   */
  async finishInterrupted(watching: { revision: string; stageIndex: number }): Promise<ReleaseResult> {
    this.snapshot = await this.readRouting()
    this.weightBefore = this.weightOf(this.snapshot)
    const state = this.state
    const interrupted =
      state?.phase === 'watching' &&
      state.release.revision === watching.revision &&
      state.stageIndex === watching.stageIndex
    let outcome: Outcome = { status: 'unchanged', message: 'the main step finished its stage; nothing to do' }
    if (interrupted && this.plan.analysis.onCancel === 'rollback') {
      await restoreTarget(
        this,
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
    return this.result('advance', outcome)
  }

  situation(): Situation {
    const objects = this.ctx.router.objects(this.plan).map(object => object.key)
    return {
      revision: this.ctx.revision,
      identity: identityOf(this.plan, this.ctx.revision, objects),
      state: this.state,
      stageCount: this.plan.stages.length
    }
  }

  private async perform(step: Step): Promise<Outcome> {
    switch (step.kind) {
      case 'refuse':
        throw new ReleaseError(step.message)
      case 'report': {
        step.warnings?.forEach(warning => this.warn(warning))
        const drift = this.state && inProgress(this.state.phase) ? driftMessage(this, this.state) : undefined
        if (drift) this.warn(drift)
        return step.outcome
      }
      case 'start':
        return start(this, step.stageIndex, step.retry)
      case 'apply':
      case 'resume':
        return advance(this, step.stageIndex, step.kind === 'resume')
      case 'verify':
        return verify(this, step.stageIndex)
      case 'rollback':
        step.notes.forEach(note => this.warn(note))
        return rollbackCommand(this)
    }
  }

  // ---- reading and checking ------------------------------------------------------------------------

  private async readRouting(): Promise<RoutingSnapshot> {
    const snapshot = await this.store.read()
    const objects = this.ctx.router.objects(this.plan)
    const missing = objects.filter(object => !object.createdByRelease && !snapshot.objects[object.key])
    // A missing first object may only mean a first release that creates it; its namespace must exist all the same.
    const absent = snapshot.objects[this.store.primary.key] ? missing : [this.store.primary, ...missing]
    for (const namespace of new Set(absent.map(object => object.namespace))) {
      if (!(await this.ctx.kube.namespaceExists(namespace))) {
        throw new ReleaseError(
          `preconditions: namespace '${namespace}' not found; fix the plan's namespace or create it`
        )
      }
    }
    if (missing.length > 0) {
      // Without the object there is no recorded state to trust, for any command: never report "idle".
      throw new ReleaseError(
        `preconditions: ${missing.map(object => `${this.store.label(object.key)} not found`).join('; ')}; create it, or fix routing in the plan (a release in progress on it cannot continue or be rolled back without it)`
      )
    }
    const state = snapshot.state
    this.ctx.log.info(
      state
        ? `release ${state.release.revision}: stage ${state.stageIndex}/${this.plan.stages.length}, ${state.phase}`
        : `no release recorded on ${this.store.label(this.store.primary.key)}`
    )
    return snapshot
  }

  requireTarget(): RoutingSpecs {
    if (!this.snapshot.target) {
      throw new ReleaseError(
        'state: the rollback target annotation is missing from the routing object; roll back by hand, then remove the state annotation to start over'
      )
    }
    return this.snapshot.target
  }

  versionSelectors(): Promise<VersionSelectors> {
    return this.ctx.router.readVersionSelectors(this.ctx.kube, this.plan)
  }

  // ---- advance and promote -------------------------------------------------------------------------

  /** The managed and other parts' digests of `specs`, for the state. */
  digests(specs: RoutingSpecs, target: RoutingSpecs): Pick<ReleaseState, 'written' | 'unmanaged'> {
    const parts = Object.entries(this.ctx.router.parts(specs, target, this.plan))
    return {
      written: digestsOf(Object.fromEntries(parts.map(([key, part]) => [key, part.managed]))),
      unmanaged: digestsOf(Object.fromEntries(parts.map(([key, part]) => [key, part.rest])))
    }
  }

  // ---- verify --------------------------------------------------------------------------------------

  // ---- plumbing ------------------------------------------------------------------------------------

  async write(request: {
    desired: RoutingSpecs
    state: ReleaseState
    target?: RoutingSpecs
    retry?: boolean
  }) {
    const { snapshot, changes, accepted } = await this.store.write(this.snapshot, {
      ...request,
      dryRun: this.ctx.dryRun
    })
    for (const change of changes) {
      this.ctx.log.info(
        `${change.action} ${change.object}${this.ctx.dryRun ? ' (dry run, validated by the cluster)' : ''}`
      )
    }
    if (accepted) this.logAccepted(accepted)
    this.changes.push(...changes)
    if (!this.ctx.dryRun) this.snapshot = snapshot
  }

  /** For routing written by an earlier run: the controller's verdict on it as it is now (Gateway API routes). */
  async confirmAccepted(): Promise<void> {
    const accepted = await this.store.confirmAccepted(this.snapshot)
    if (accepted) this.logAccepted(accepted)
  }

  private logAccepted({ objects, reads, waitedMs }: Accepted): void {
    this.ctx.log.info(
      `accepted by the controller: ${objects.join(', ')} after ${waitedMs} ms (${reads} status read${reads === 1 ? '' : 's'})`
    )
  }

  warn(message: string): void {
    this.warnings.push(message)
    this.ctx.log.warning(message)
  }

  runId(): Pick<ReleaseState, 'runId'> {
    return this.ctx.run.id ? { runId: this.ctx.run.id } : {}
  }

  event(event: string, stageIndex: number, weight: number): HistoryEntry {
    return {
      at: new Date().toISOString(),
      revision: this.state?.release.revision ?? this.ctx.revision,
      event,
      ...this.runId(),
      stageIndex,
      weight
    }
  }

  /** The canary's actual share of unmatched traffic with this snapshot's state. */
  weightOf(snapshot: RoutingSnapshot): number {
    return canaryWeight(this.ctx.router, this.plan, snapshot.state, snapshot.target)
  }

  private result(command: EngineCommand, outcome: Outcome): ReleaseResult {
    const finishedAt = new Date()
    const state = this.state
    return {
      command,
      outcome,
      dryRun: this.ctx.dryRun,
      plan: this.plan,
      revision: state?.release.revision ?? this.ctx.revision,
      ...(state && { state }),
      weight: { before: this.weightBefore, after: this.weightOf(this.snapshot) },
      objects: this.ctx.router.objects(this.plan).map(object => this.store.label(object.key)),
      changes: this.changes,
      evaluations: this.evaluations,
      noData: this.noData,
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
