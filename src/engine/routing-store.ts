/**
 * Reads and writes the routing objects a release manages, with the state annotations on the primary object.
 * Every write is conditional on the resourceVersion that was read; the primary is written first so the state
 * always says what the other objects are about to become.
 */
import { KubeError, type KubeClient, type KubeObject } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'
import type { Router, RoutingSpecs } from '../routers/router.js'
import type { Change } from '../report/types.js'
import { jsonEqual, type JsonObject } from './json.js'
import { yamlDiff } from './diff.js'
import {
  decodeState,
  decodeTarget,
  encodeState,
  encodeTarget,
  type ReleaseState,
  STATE_ANNOTATION,
  TARGET_ANNOTATION
} from './state.js'

export interface RoutingSnapshot {
  objects: Record<string, KubeObject | undefined>
  specs: RoutingSpecs
  state?: ReleaseState
  target?: RoutingSpecs
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
  name: string
  before?: KubeObject
  after?: KubeObject
}

function withoutServerFields(object: KubeObject): KubeObject {
  const { resourceVersion, uid, creationTimestamp, generation, managedFields, ...metadata } = object.metadata
  void [resourceVersion, uid, creationTimestamp, generation, managedFields]
  return { ...object, metadata }
}

export class RoutingStore {
  constructor(
    private readonly kube: KubeClient,
    private readonly router: Router,
    private readonly plan: Plan
  ) {}

  private label(name: string): string {
    return `${this.router.resource.kind} ${this.plan.namespace}/${name}`
  }

  async read(): Promise<RoutingSnapshot> {
    const names = this.router.managedNames(this.plan)
    const objects: Record<string, KubeObject | undefined> = {}
    if (names.length === 1) {
      objects[names[0]] = await this.kube.getCustom(this.router.resource, this.plan.namespace, names[0])
    } else {
      const listed = await this.kube.listCustom(this.router.resource, this.plan.namespace)
      for (const name of names) objects[name] = listed.find(object => object.metadata.name === name)
    }
    const specs: RoutingSpecs = Object.fromEntries(
      names.map(name => [name, (objects[name]?.spec as JsonObject | undefined) ?? null])
    )
    const annotations = objects[this.router.primaryName(this.plan)]?.metadata.annotations
    return { objects, specs, state: decodeState(annotations), target: decodeTarget(annotations) }
  }

  /** Writes the desired specs and the state; returns the new snapshot and the changes made (or, dry, that would be). */
  async write(
    snapshot: RoutingSnapshot,
    request: WriteRequest
  ): Promise<{ snapshot: RoutingSnapshot; changes: Change[] }> {
    const primary = this.router.primaryName(this.plan)
    const objects = { ...snapshot.objects }
    const changes: Change[] = []
    const options = { dryRun: request.dryRun, retry: request.retry }
    const names = [primary, ...Object.keys(request.desired).filter(name => name !== primary)]
    const written: Written[] = []
    for (const name of names) {
      const current = objects[name]
      const desired = request.desired[name] ?? null
      const before = (current?.spec as JsonObject | undefined) ?? null
      const isPrimary = name === primary
      if (!isPrimary && jsonEqual(before, desired)) continue
      try {
        if (desired === null) {
          if (!current) continue
          await this.guard(name, () => this.kube.deleteCustom(this.router.resource, current, options))
          objects[name] = undefined
        } else {
          const object = this.buildObject(name, current, desired, isPrimary ? request : undefined)
          objects[name] = await this.guard(name, () =>
            current
              ? this.kube.replaceCustom(this.router.resource, object, options)
              : this.kube.createCustom(this.router.resource, object, options)
          )
        }
      } catch (error) {
        throw await this.undoAfter(error, written, request)
      }
      if (!request.dryRun) written.push({ name, before: current, after: objects[name] })
      if (!jsonEqual(before, desired)) {
        changes.push({
          object: this.label(name),
          action: desired === null ? 'delete' : current ? 'update' : 'create',
          diff: yamlDiff(this.label(name), before, desired)
        })
      }
    }
    const specs = { ...snapshot.specs, ...request.desired }
    return {
      snapshot: { objects, specs, state: request.state, target: request.target ?? snapshot.target },
      changes
    }
  }

  /**
   * A write of several objects stopped half-way on a definite refusal (an HTTP answer): put back the objects
   * this call already wrote, newest first, so the routing (and the state on the primary) is again the stage it
   * was. Not for a rollback, whose partial progress towards stable is better than none, and not when the answer
   * was lost (timeout, dropped connection): that write may have landed, and the state on the primary already
   * records the unfinished write, which the next run converges. Returns the error to throw.
   */
  private async undoAfter(error: unknown, written: Written[], request: WriteRequest): Promise<unknown> {
    const definite = error instanceof KubeError && error.status > 0
    if (!definite || written.length === 0 || request.dryRun || request.state.phase === 'rolled-back') {
      return error
    }
    const options = { dryRun: false, retry: true }
    const type = this.router.resource
    try {
      for (const { before, after } of [...written].reverse()) {
        if (!before && after) await this.kube.deleteCustom(type, after, options)
        else if (before && after) {
          const bare = withoutServerFields(before)
          const restored = {
            ...bare,
            metadata: { ...bare.metadata, resourceVersion: after.metadata.resourceVersion }
          }
          await this.kube.replaceCustom(type, restored, options)
        } else if (before) await this.kube.createCustom(type, withoutServerFields(before), options)
      }
    } catch {
      return error
    }
    return new KubeError(
      `${error.message}; the ${written.length} object(s) this run had already written were restored, so the routing is unchanged`,
      error.status,
      error.reason,
      error.retryAfterMs
    )
  }

  private buildObject(
    name: string,
    current: KubeObject | undefined,
    spec: JsonObject,
    stateWrite: WriteRequest | undefined
  ): KubeObject {
    const { group, version, kind } = this.router.resource
    const base: KubeObject = current ?? {
      apiVersion: `${group}/${version}`,
      kind,
      metadata: {
        name,
        namespace: this.plan.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'istio-canary-action' }
      }
    }
    const annotations = { ...(base.metadata.annotations ?? {}) }
    if (stateWrite) {
      annotations[STATE_ANNOTATION] = encodeState(stateWrite.state)
      if (stateWrite.target) annotations[TARGET_ANNOTATION] = encodeTarget(stateWrite.target)
    }
    return { ...base, metadata: { ...base.metadata, annotations }, spec }
  }

  /** Turns a resourceVersion conflict into the message the user needs: someone else wrote the object. */
  private async guard<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (error) {
      if (error instanceof KubeError && (error.conflict || error.status === 409)) {
        throw new KubeError(
          `conflict: ${this.label(name)} was changed by another writer since this run read it; nothing was overwritten. Re-run to continue from the new state (${error.message})`,
          error.status,
          error.reason
        )
      }
      throw error
    }
  }
}
