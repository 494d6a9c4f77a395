/**
 * One small interface, one implementation per routing API (VirtualService, RouteRule; an HTTPRoute router
 * plugs in the same way). The pure methods compute routing; `readVersionSelectors` is the only I/O a router
 * adds, for the preconditions its API needs.
 */
import type { JsonObject } from '../engine/json.js'
import type { KubeClient, Labels, ResourceType } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'

/** Specs of the routing objects a release manages, by object name; null means the object must not exist. */
export type RoutingSpecs = Record<string, JsonObject | null>

/** Pod labels that pick each version's Deployments. */
export interface VersionSelectors {
  stable: Labels
  canary: Labels
}

export interface Router {
  readonly resource: ResourceType
  /** The object that carries the release state (annotations). */
  primaryName(plan: Plan): string
  /** Every object the router may write for this plan (the primary first). */
  managedNames(plan: Plan): string[]
  /** Problems that make the plan impossible on this routing, each naming the object and field. */
  validate(current: RoutingSpecs, plan: Plan): string[]
  /** The routing pinned 100% to stable: the rollback target. */
  pin(current: RoutingSpecs, plan: Plan): RoutingSpecs
  /** The routing once stages 1..stageIndex are in effect, computed from the rollback target (0 = the target). */
  stageSpecs(target: RoutingSpecs, plan: Plan, stageIndex: number): RoutingSpecs
  /** Reads what the preconditions need (DestinationRule subsets) and says which pods each version is. */
  readVersionSelectors(kube: KubeClient, plan: Plan): Promise<VersionSelectors>
}

/** What traffic looks like once stages 1..stageIndex are in effect. */
export interface StageEffect {
  /** Canary share of unmatched traffic. */
  weight: number
  /** Match stages in effect, in plan order. */
  matchStages: Plan['stages'][number][]
  finalized: boolean
}

export function stageEffect(plan: Plan, stageIndex: number): StageEffect {
  const applied = plan.stages.slice(0, stageIndex)
  const finalized = applied.some(stage => stage.kind === 'finalize')
  let weight = 0
  for (const stage of applied) if (stage.kind === 'weight') weight = stage.weight
  return {
    weight: finalized ? 100 : weight,
    matchStages: finalized ? [] : applied.filter(stage => stage.kind === 'match'),
    finalized
  }
}
