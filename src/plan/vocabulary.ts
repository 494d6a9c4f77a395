/**
 * What the plan reader needs to know about each router and check kind. The kinds themselves live in
 * `routers/` and `analysis/checks/`, which build on this folder; `engine/plan-loader.ts` hands their registries
 * to `parsePlan`, so the plan stays the lowest layer.
 */
import type { FieldPath, Mapping } from './plan-yaml.js'
import type { CheckBase, CheckKind, Plan, RouterKind, Routing } from './types.js'

/** The plan fields read before the routing and the checks, which their readers may depend on. */
export type PlanHead = Pick<Plan, 'service' | 'namespace' | 'router' | 'stable' | 'canary'>

/** A problem the whole plan shows, with the field to blame. */
export interface PlanProblem {
  path: FieldPath
  problem: string
}

export interface RouterSyntax {
  /** Keys of the `routing` mapping (the first entry of a list) besides name, namespace and route. */
  optionKeys: readonly string[]
  /** `routing` may list several objects. */
  severalObjects: boolean
  /** Why `route` is refused for this router; undefined: a routing entry may name one route. */
  routeRefusal?: string
  /** Top-level plan keys that mean nothing to this router, with why and what to write instead. */
  refusedKeys?: Readonly<Record<string, string>>
  /** Reads the router's own options (optionKeys) from the routing mapping. */
  readOptions?(routing: Mapping, head: PlanHead): Pick<Routing, 'backends' | 'acceptTimeoutMs'>
  /** Problems of a complete plan on this router: a stage it cannot express, a name it cannot form. */
  problems?(plan: Plan): PlanProblem[]
  /**
   * Upper bounds (ms) of the buckets of the latency histogram in this router's telemetry, ascending: a
   * `slow-requests` check's `slowerThan` must be one of them.
   */
  readonly latencyBucketsMs: readonly number[]
}

export interface CheckSyntax {
  /**
   * Reads the settings under the check's kind key (`check.mapping(<kind>, ...)`); `router` is the syntax of
   * the plan's router (what its telemetry offers).
   */
  read(check: Mapping, name: string, head: PlanHead, router: RouterSyntax): CheckBase
}

export interface PlanVocabulary {
  routers: Record<RouterKind, RouterSyntax>
  checks: Record<CheckKind, CheckSyntax>
}
