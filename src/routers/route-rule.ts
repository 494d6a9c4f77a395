/**
 * RouteRule router (config.istio.io/v1alpha2, Istio 0.2-0.7), reproducing the Istio 0.2 canary tutorial:
 * `<name>-default` at precedence 1 splits by version label, and each match stage is its own rule
 * `<name>-<stage>` at precedence 2, 3, ... sending matching requests to the canary.
 */
import { clone, type JsonObject } from '../engine/json.js'
import type { KubeClient, ResourceType } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'
import { type Router, type RoutingSpecs, stageEffect, type VersionSelectors } from './router.js'

export const ROUTE_RULE: ResourceType = {
  group: 'config.istio.io',
  version: 'v1alpha2',
  plural: 'routerules',
  kind: 'RouteRule'
}

function defaultRuleName(plan: Plan): string {
  return `${plan.routing.name}-default`
}

function defaultPrecedence(rule: JsonObject): number {
  return typeof rule.precedence === 'number' ? rule.precedence : 0
}

function matchStages(plan: Plan) {
  return plan.stages.filter(stage => stage.kind === 'match')
}

function matchRuleName(plan: Plan, stageName: string): string {
  return `${plan.routing.name}-${stageName}`
}

function versionRoute(plan: Plan, version: string): JsonObject {
  return { labels: { [plan.versionLabel]: version } }
}

/** True when every route entry that carries traffic goes to the stable version. */
function allOnStable(spec: JsonObject, plan: Plan): boolean {
  const routes = Array.isArray(spec.route) ? (spec.route as JsonObject[]) : []
  return (
    routes.length > 0 &&
    routes.every(
      r =>
        r.weight === 0 ||
        (r.labels as Record<string, string> | undefined)?.[plan.versionLabel] === plan.stable
    )
  )
}

export class RouteRuleRouter implements Router {
  readonly resource = ROUTE_RULE

  primaryName(plan: Plan): string {
    return defaultRuleName(plan)
  }

  managedNames(plan: Plan): string[] {
    return [defaultRuleName(plan), ...matchStages(plan).map(stage => matchRuleName(plan, stage.name))]
  }

  validate(current: RoutingSpecs, plan: Plan): string[] {
    return matchStages(plan)
      .map(stage => matchRuleName(plan, stage.name))
      .filter(name => current[name])
      .map(
        name =>
          `RouteRule ${plan.namespace}/${name} already exists and is not part of this release; delete it or rename the stage`
      )
  }

  pin(current: RoutingSpecs, plan: Plan): RoutingSpecs {
    const existing = current[defaultRuleName(plan)]
    const pinned: JsonObject = existing
      ? allOnStable(existing, plan)
        ? clone(existing)
        : { ...clone(existing), route: [versionRoute(plan, plan.stable)] }
      : { destination: { name: plan.service }, precedence: 1, route: [versionRoute(plan, plan.stable)] }
    const specs: RoutingSpecs = { [defaultRuleName(plan)]: pinned }
    for (const stage of matchStages(plan)) specs[matchRuleName(plan, stage.name)] = null
    return specs
  }

  stageSpecs(target: RoutingSpecs, plan: Plan, stageIndex: number): RoutingSpecs {
    const effect = stageEffect(plan, stageIndex)
    const pinned = target[defaultRuleName(plan)] as JsonObject
    const route =
      effect.weight === 0
        ? pinned.route
        : effect.weight === 100
          ? [{ ...versionRoute(plan, plan.canary), weight: 100 }]
          : [
              { ...versionRoute(plan, plan.stable), weight: 100 - effect.weight },
              { ...versionRoute(plan, plan.canary), weight: effect.weight }
            ]
    const specs: RoutingSpecs = { [defaultRuleName(plan)]: { ...clone(pinned), route: clone(route) } }
    matchStages(plan).forEach((stage, order) => {
      specs[matchRuleName(plan, stage.name)] = effect.matchStages.includes(stage)
        ? {
            destination: { name: plan.service },
            // Above the default rule, later match stages higher still (2, 3, ... for a default at 1).
            precedence: defaultPrecedence(pinned) + 1 + order,
            match: { request: { headers: clone(stage.headers) } },
            route: [versionRoute(plan, plan.canary)]
          }
        : null
    })
    return specs
  }

  async readVersionSelectors(_kube: KubeClient, plan: Plan): Promise<VersionSelectors> {
    return {
      stable: { app: plan.service, [plan.versionLabel]: plan.stable },
      canary: { app: plan.service, [plan.versionLabel]: plan.canary }
    }
  }
}
