/**
 * One definition per routing API (VirtualService, RouteRule, HTTPRoute), each complete: the registry's type
 * makes `npm run typecheck` fail until a new kind gives every hook. The transforms are pure; the I/O hooks
 * (version selectors, acceptance) read through the Kubernetes client they are given.
 */
import type { Json, JsonObject } from '../common/json.js'
import type { KubeClient, KubeObject, Labels, ResourceType } from '../kube/kube-client.js'
import type { Plan, PrometheusTemplate, RouterKind, RoutingObject, VersionCounter } from '../plan/types.js'
import type { RouterSyntax } from '../plan/vocabulary.js'

/** Specs of the routing objects a release manages, by `objectKey`; null means the object must not exist. */
export type RoutingSpecs = Record<string, JsonObject | null>

/** A routing object a release manages. */
export interface ManagedObject extends RoutingObject {
  /** `namespace/name`: how specs, digests and the rollback target name it. */
  key: string
  /** The release creates it (RouteRule's rules), so its absence before the pin is no error. */
  createdByRelease?: boolean
}

/** An object split into what the release manages and everything else (null when the object is absent). */
export interface ObjectParts {
  managed: Json
  rest: Json
}

export function objectKey(object: { namespace: string; name: string }): string {
  return `${object.namespace}/${object.name}`
}

/** Pod labels that pick each version's Deployments. */
export interface VersionSelectors {
  stable: Labels
  canary: Labels
}

/** The managed routes restored from the rollback target; `reverted` names objects restored whole. */
export interface Restored {
  specs: RoutingSpecs
  /** Objects whose managed routes could not be told apart any more, so the whole spec went back to the target. */
  reverted: string[]
}

/** One Kubernetes RBAC rule a router needs: what it reads and writes. */
export interface RbacRule {
  apiGroup: string
  resource: string
  verbs: readonly string[]
}

/**
 * The controller's verdict on written objects (Gateway API route status). `latest` holds the objects as last read
 * while waiting (their status, and the resourceVersion the controller's status writes moved them to).
 */
export type Acceptance = { latest: KubeObject[]; reads: number; waitedMs: number } & (
  | { accepted: true }
  | {
      accepted: false
      /** The object and parent the verdict is about, e.g. `HTTPRoute default/reviews, parent Service reviews`. */
      where: string
      /** The condition's reason (`NotAllowedByListeners`, `BackendNotFound`), or `Timeout` / `Cancelled`. */
      reason: string
      message: string
    }
)

export interface RouterDefinition {
  readonly kind: RouterKind
  /** How the plan's `routing` reads for this router, and what it refuses. */
  readonly syntax: RouterSyntax
  /** The routing object type. */
  readonly resource: ResourceType
  /** What the router reads and writes, for the RBAC example and its test. */
  readonly rbac: readonly RbacRule[]
  /** The objects a release manages for this plan; the first carries the release state. */
  objects(plan: Plan): ManagedObject[]
  /** Problems that make the plan impossible on this routing, each naming the object and field. */
  validate(current: RoutingSpecs, plan: Plan): string[]
  /** The routing pinned 100% to stable: the rollback target. */
  pin(current: RoutingSpecs, plan: Plan): RoutingSpecs
  /**
   * The routing once stages 1..stageIndex are in effect: the managed routes computed from the target, every
   * other part of each object as it is now (`current`). The revision is the sticky cookie's value.
   */
  stage(
    current: RoutingSpecs,
    target: RoutingSpecs,
    plan: Plan,
    stageIndex: number,
    revision: string
  ): RoutingSpecs
  /** The rollback: managed routes as in the target, the rest as it is now. */
  restore(current: RoutingSpecs, target: RoutingSpecs, plan: Plan): Restored
  /** Each object's managed routes (what drift is judged on) and the rest (someone else's, kept as it is). */
  parts(specs: RoutingSpecs, target: RoutingSpecs, plan: Plan): Record<string, ObjectParts>
  /** The canary's actual share of unmatched traffic once stages 1..stageIndex are in effect (0..100). */
  appliedWeight(target: RoutingSpecs, plan: Plan, stageIndex: number): number
  /** Weight stages that cannot move traffic on this routing (rounding on a small share). */
  splitProblems(target: RoutingSpecs, plan: Plan): string[]
  /** Places outside the managed routes that still send traffic to the stable version. */
  stableRoutedElsewhere(specs: RoutingSpecs, plan: Plan): string[]
  /** Reads what the preconditions need (subsets, backend Services) and says which pods each version is. */
  readVersionSelectors(kube: KubeClient, plan: Plan): Promise<VersionSelectors>
  /** PromQL of a built-in template for this router's telemetry, placeholders still in it. */
  metricTemplate(template: PrometheusTemplate, window: string, plan: Plan): string
  /**
   * PromQL selecting the raw counter series of the requests of `version` (the plan's `stable` or `canary`)
   * in this router's telemetry, for the sequential checks: a plain selector, no rate(), increase() or sum(),
   * because the check takes each series' exact increments between evaluations itself (increase()
   * extrapolates, which inflates counts). `$service` and `$namespace` may stay as placeholders. The
   * `latency-bucket` bound is one of `syntax.latencyBucketsMs`.
   */
  versionCounter(counter: VersionCounter, version: string, plan: Plan): string
  /** What to tell a user whose API server changed a spec as it stored it (pruned or defaulted fields). */
  readonly schemaHint?: string
  /**
   * Waits for the controller to accept what was written (Gateway API), up to the plan's acceptTimeout; absent:
   * a write is final. `written` are the objects as the API server returned them (their new generation).
   */
  awaitAccepted?(
    kube: KubeClient,
    written: KubeObject[],
    plan: Plan,
    signal: AbortSignal
  ): Promise<Acceptance>
}
