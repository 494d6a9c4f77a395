/**
 * Reads and writes the routing objects a release manages, with the release's annotations on the first object.
 * Every write is conditional on the resourceVersion that was read; the first object is written first, so its state
 * always says what the others are about to become; a write refused half-way puts back what it had written.
 */
import type { JsonObject } from '../common/json.js'
import { differingPaths, jsonEqual } from '../common/json.js'
import { KubeError, type KubeClient, type KubeObject } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'
import { objectKey, type ManagedObject, type RouterDefinition, type RoutingSpecs } from '../routers/router.js'
import { ReleaseError } from './context.js'
import { yamlDiff } from './diff.js'
import {
  decodeState,
  decodeTarget,
  encodeState,
  encodeTarget,
  IN_PROGRESS_LABEL,
  inProgress,
  isStateAnnotation,
  stateAnnotation,
  targetAnnotation,
  type ReleaseState
} from './state.js'

export interface RoutingSnapshot {
  objects: Record<string, KubeObject | undefined>
  specs: RoutingSpecs
  state?: ReleaseState
  target?: RoutingSpecs
}

/** One object a run created, updated or deleted (or, dry, would have). */
export interface Change {
  /** e.g. "VirtualService default/reviews" */
  object: string
  action: 'create' | 'update' | 'delete'
  /** Unified diff of the spec's YAML before and after. */
  diff: string
}

export interface WriteRequest {
  desired: RoutingSpecs
  state: ReleaseState
  /** Store this rollback target (only when pinning). */
  target?: RoutingSpecs
  dryRun: boolean
  retry?: boolean
}

/** An object one write call changed: as it was read, and as the apiserver returned it (undefined: absent). */
interface Written {
  object: ManagedObject
  before?: KubeObject
  after?: KubeObject
}

/** How long the controller took to accept a write (Gateway API routes), for the log. */
export interface Accepted {
  objects: string[]
  reads: number
  waitedMs: number
}

/** A write the cluster took but that cannot stand (its spec was altered, or the controller refused it). */
class WriteRefused extends ReleaseError {}

/** How many times a write is tried again when only the controller's status moved the resourceVersion. */
const STATUS_RACE_ATTEMPTS = 3

function withoutServerFields(object: KubeObject): KubeObject {
  const { resourceVersion, uid, creationTimestamp, generation, managedFields, ...metadata } = object.metadata
  void [resourceVersion, uid, creationTimestamp, generation, managedFields]
  return { ...object, metadata }
}

/** What a writer other than a status controller can change: everything but status and server bookkeeping. */
function userContent(object: KubeObject | undefined): unknown {
  if (!object) return null
  const { metadata, status, ...rest } = withoutServerFields(object)
  void status
  return { ...rest, metadata }
}

function keyOf(object: KubeObject): string {
  return objectKey({ namespace: object.metadata.namespace ?? '', name: object.metadata.name })
}

export class RoutingStore {
  private readonly managed: ManagedObject[]

  constructor(
    private readonly kube: KubeClient,
    private readonly router: RouterDefinition,
    private readonly plan: Plan,
    private readonly signal: AbortSignal = new AbortController().signal
  ) {
    this.managed = router.objects(plan)
  }

  get primary(): ManagedObject {
    return this.managed[0]
  }

  label(key: string): string {
    return `${this.router.resource.kind} ${key}`
  }

  async read(): Promise<RoutingSnapshot> {
    const objects: Record<string, KubeObject | undefined> = {}
    const namespaces = new Set(this.managed.map(object => object.namespace))
    if (this.managed.length > 1 && namespaces.size === 1 && this.mayList()) {
      // The RouteRules of one release: one list instead of a get per rule.
      const listed = await this.kube.listCustom(this.router.resource, this.primary.namespace)
      for (const object of this.managed)
        objects[object.key] = listed.find(item => item.metadata.name === object.name)
    } else {
      const read = await Promise.all(
        this.managed.map(object => this.kube.getCustom(this.router.resource, object.namespace, object.name))
      )
      this.managed.forEach((object, index) => (objects[object.key] = read[index]))
    }
    const specs: RoutingSpecs = Object.fromEntries(
      this.managed.map(object => [object.key, (objects[object.key]?.spec as JsonObject | undefined) ?? null])
    )
    const annotations = objects[this.primary.key]?.metadata.annotations
    return {
      objects,
      specs,
      state: decodeState(annotations, this.plan),
      target: decodeTarget(annotations, this.plan)
    }
  }

  /**
   * Whether the router's RBAC grants `list` on its routing objects. Without it the objects are read one by one:
   * a get per object reads nothing but what the release manages.
   */
  private mayList(): boolean {
    const { group, plural } = this.router.resource
    return this.router.rbac.some(
      rule => rule.apiGroup === group && rule.resource === plural && rule.verbs.includes('list')
    )
  }

  /** Only the release state, from the first object: what a watch checks each round. */
  async readState(): Promise<ReleaseState | undefined> {
    const { namespace, name } = this.primary
    const object = await this.kube.getCustom(this.router.resource, namespace, name)
    return decodeState(object?.metadata.annotations, this.plan)
  }

  /**
   * Writes the desired specs and the state; returns the new snapshot and the changes made (or, dry, that would
   * be). With a router whose controller reports on its routes, waits until the controller accepts them; a write it
   * refuses (or that the API server stored altered) is put back, except a rollback's, and the run fails.
   */
  async write(
    snapshot: RoutingSnapshot,
    request: WriteRequest
  ): Promise<{ snapshot: RoutingSnapshot; changes: Change[]; accepted?: Accepted }> {
    const objects = { ...snapshot.objects }
    const changes: Change[] = []
    const written: Written[] = []
    for (const object of this.managed) {
      const { key } = object
      const current = objects[key]
      const desired = request.desired[key] ?? null
      const before = (current?.spec as JsonObject | undefined) ?? null
      const isPrimary = key === this.primary.key
      const body =
        desired === null ? undefined : this.buildObject(object, current, desired, request, isPrimary)
      const unchanged =
        desired === null
          ? !current
          : current !== undefined && jsonEqual(userContent(current), userContent(body))
      if (unchanged && !isPrimary) continue
      try {
        objects[key] = await this.writeOne(object, current, body, request)
      } catch (error) {
        throw await this.undoAfter(error, written, request)
      }
      if (!request.dryRun) written.push({ object, before: current, after: objects[key] })
      const altered = body ? differingPaths(desired, objects[key]?.spec ?? null, 'spec') : []
      if (altered.length > 0) {
        const refused = new WriteRefused(
          `write: the API server ${request.dryRun ? 'would store' : 'stored'} ${this.label(key)} with a spec other than the one written (${altered.slice(0, 8).join(', ')}): its schema drops or defaults those fields, so the action could not tell its own routing apart${this.router.schemaHint ? `. ${this.router.schemaHint}` : ''}`
        )
        throw await this.undoAfter(refused, written, request)
      }
      if (!jsonEqual(before, desired)) {
        changes.push({
          object: this.label(key),
          action: desired === null ? 'delete' : current ? 'update' : 'create',
          diff: yamlDiff(this.label(key), before, desired)
        })
      }
    }
    const accepted = request.dryRun ? undefined : await this.awaitAccepted(written, objects, request)
    const specs = { ...snapshot.specs, ...request.desired }
    return {
      snapshot: { objects, specs, state: request.state, target: request.target ?? snapshot.target },
      changes,
      ...(accepted && { accepted })
    }
  }

  /**
   * Waits for the controller to accept the objects whose spec this write changed (their generation moved). The
   * objects it read meanwhile replace those in `objects` when only their status differs, so the next write of this
   * run is conditional on the resourceVersion the controller's status write left. Refused: put back, and thrown.
   */
  private async awaitAccepted(
    written: Written[],
    objects: Record<string, KubeObject | undefined>,
    request: WriteRequest
  ): Promise<Accepted | undefined> {
    const changed = written.filter(
      ({ before, after }) => after && after.metadata.generation !== before?.metadata.generation
    )
    if (!this.router.awaitAccepted || changed.length === 0) return undefined
    const afters = changed.map(({ after }) => after as KubeObject)
    const verdict = await this.router.awaitAccepted(this.kube, afters, this.plan, this.signal)
    for (const latest of verdict.latest) {
      const key = keyOf(latest)
      if (jsonEqual(userContent(latest), userContent(objects[key]))) objects[key] = latest
      for (const entry of written)
        if (entry.object.key === key && jsonEqual(userContent(latest), userContent(entry.after)))
          entry.after = latest
    }
    if (verdict.accepted) {
      return {
        objects: afters.map(object => this.label(keyOf(object))),
        reads: verdict.reads,
        waitedMs: verdict.waitedMs
      }
    }
    const refusal = `acceptance: ${verdict.where} did not accept what this run wrote: ${verdict.reason}${verdict.message ? `: ${verdict.message}` : ''}`
    if (request.state.phase === 'rolled-back') {
      throw new ReleaseError(
        `${refusal}; the rollback target was written and stays: fix what the controller reports, then check the route's status`
      )
    }
    throw await this.undoAfter(new WriteRefused(refusal), written, request)
  }

  /**
   * The controller's verdict on the routing as `snapshot` read it, for a stage an earlier run wrote (a run that
   * died while waiting). A refusal fails the run and leaves the routing as it is: rolling back is the user's call.
   */
  async confirmAccepted(snapshot: RoutingSnapshot): Promise<Accepted | undefined> {
    const present = this.managed.flatMap(({ key }) => (snapshot.objects[key] ? [snapshot.objects[key]] : []))
    if (!this.router.awaitAccepted || present.length === 0) return undefined
    const verdict = await this.router.awaitAccepted(this.kube, present, this.plan, this.signal)
    for (const latest of verdict.latest) {
      const key = keyOf(latest)
      if (jsonEqual(userContent(latest), userContent(snapshot.objects[key]))) snapshot.objects[key] = latest
    }
    if (verdict.accepted) {
      return {
        objects: present.map(object => this.label(keyOf(object))),
        reads: verdict.reads,
        waitedMs: verdict.waitedMs
      }
    }
    throw new ReleaseError(
      `acceptance: ${verdict.where} has not accepted the stage an earlier run wrote: ${verdict.reason}${verdict.message ? `: ${verdict.message}` : ''}; fix what the controller reports, or run the rollback command`
    )
  }

  /**
   * One conditional write. A gateway controller writes route status after every change and so moves the
   * resourceVersion: when a conflict turns out to be only that, the write goes again at the new version.
   */
  private async writeOne(
    object: ManagedObject,
    current: KubeObject | undefined,
    body: KubeObject | undefined,
    request: Pick<WriteRequest, 'dryRun' | 'retry'>
  ): Promise<KubeObject | undefined> {
    const options = { dryRun: request.dryRun, retry: request.retry }
    const type = this.router.resource
    let read = current
    for (let attempt = 1; ; attempt++) {
      try {
        if (!body) {
          if (read) await this.kube.deleteCustom(type, read, options)
          return undefined
        }
        if (!read) return await this.kube.createCustom(type, body, options)
        const conditional = {
          ...body,
          metadata: { ...body.metadata, resourceVersion: read.metadata.resourceVersion }
        }
        return await this.kube.replaceCustom(type, conditional, options)
      } catch (error) {
        if (!(error instanceof KubeError && (error.conflict || error.status === 409))) throw error
        const fresh =
          read && attempt < STATUS_RACE_ATTEMPTS
            ? await this.kube.getCustom(type, object.namespace, object.name)
            : undefined
        // Nothing the release reads moved (a status write at most): the same write, at the version just read, is
        // still conditional, so it can overwrite no one. Another writer's change is reported instead.
        if (fresh && jsonEqual(userContent(fresh), userContent(read))) {
          read = fresh
          continue
        }
        throw new KubeError(
          `conflict: ${this.label(object.key)} was changed by another writer since this run read it; nothing was overwritten. Re-run to continue from the new state (${error.message})`,
          error.status,
          error.reason
        )
      }
    }
  }

  /**
   * A write stopped on a definite refusal (an HTTP answer, a spec the API server altered, a route its controller
   * did not accept): put back the objects this call already wrote, newest first, so the routing (and the state on
   * the first object) is again what it was. Not for a rollback, whose partial progress towards stable is better
   * than none, and not when the answer was lost (timeout, dropped connection): that write may have landed, and the
   * state on the first object already records the unfinished write, which the next run converges. Each put-back is
   * conditional, and goes again when only the controller's status moved the object meanwhile. Returns the error
   * to throw.
   */
  private async undoAfter(error: unknown, written: Written[], request: WriteRequest): Promise<unknown> {
    const definite = (error instanceof KubeError && error.status > 0) || error instanceof WriteRefused
    if (!definite || written.length === 0 || request.dryRun || request.state.phase === 'rolled-back')
      return error
    const restored: Written[] = []
    try {
      for (const { object, before, after } of [...written].reverse()) {
        const body = before ? withoutServerFields(before) : undefined
        const now = await this.writeOne(object, after, body, { dryRun: false, retry: true })
        restored.push({ object, before: after, after: now })
      }
    } catch {
      return error
    }
    let note = ''
    if (this.router.awaitAccepted && error instanceof WriteRefused && !this.signal.aborted) {
      const changed = restored.flatMap(({ after }) => (after ? [after] : []))
      const verdict = changed.length
        ? await this.router.awaitAccepted(this.kube, changed, this.plan, this.signal)
        : undefined
      if (verdict && !verdict.accepted) {
        note = `; the controller has not accepted the restored routing either (${verdict.where}: ${verdict.reason}${verdict.message ? `: ${verdict.message}` : ''})`
      }
    }
    const message = `${(error as Error).message}; the ${written.length} object(s) this run had already written were restored, so the routing is unchanged${note}`
    return error instanceof KubeError
      ? new KubeError(message, error.status, error.reason, error.retryAfterMs)
      : new ReleaseError(message)
  }

  private buildObject(
    object: ManagedObject,
    current: KubeObject | undefined,
    spec: JsonObject,
    request: WriteRequest,
    isPrimary: boolean
  ): KubeObject {
    const { group, version, kind } = this.router.resource
    const base: KubeObject = current ?? {
      apiVersion: `${group}/${version}`,
      kind,
      metadata: {
        name: object.name,
        namespace: object.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'istio-canary-action' }
      }
    }
    const annotations = { ...(base.metadata.annotations ?? {}) }
    if (isPrimary) {
      annotations[stateAnnotation(this.plan)] = encodeState(request.state)
      if (request.target) annotations[targetAnnotation(this.plan)] = encodeTarget(request.target)
    }
    const labels = { ...(base.metadata.labels ?? {}) }
    if (inProgress(request.state.phase) || this.otherReleaseInProgress(annotations))
      labels[IN_PROGRESS_LABEL] = 'true'
    else delete labels[IN_PROGRESS_LABEL]
    const { resourceVersion, ...metadata } = base.metadata
    void resourceVersion
    return { ...base, metadata: { ...metadata, annotations, labels }, spec }
  }

  /** Another service's release recorded on this object is still running: the GitOps label stays for it. */
  private otherReleaseInProgress(annotations: Record<string, string>): boolean {
    const own = stateAnnotation(this.plan)
    return Object.entries(annotations).some(([key, value]) => {
      if (key === own || !isStateAnnotation(key)) return false
      try {
        const phase = (JSON.parse(value) as { phase?: unknown }).phase
        return typeof phase === 'string' && phase !== 'completed' && phase !== 'rolled-back'
      } catch {
        return false
      }
    })
  }
}
