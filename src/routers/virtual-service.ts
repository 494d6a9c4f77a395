/**
 * VirtualService router (networking.istio.io). Shifts the http routes that send traffic to the service (or the one
 * route the plan names) between the DestinationRule's stable and canary subsets; every other route and field is
 * left exactly as the user wrote it.
 */
import { clone, type Json, type JsonObject } from '../engine/json.js'
import type { KubeClient, Labels, ResourceType } from '../kube/kube-client.js'
import type { MatchStage, Plan, StringMatch } from '../plan/types.js'
import { type Router, type RoutingSpecs, stageEffect, type VersionSelectors } from './router.js'

export const VIRTUAL_SERVICE: ResourceType = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  kind: 'VirtualService',
  fallbackVersions: ['v1beta1', 'v1alpha3']
}
export const DESTINATION_RULE: ResourceType = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'destinationrules',
  kind: 'DestinationRule',
  fallbackVersions: ['v1beta1', 'v1alpha3']
}

interface Destination extends JsonObject {
  host: string
  subset: string
}
interface RouteDestination extends JsonObject {
  destination: Destination
}
interface HttpRoute extends JsonObject {
  route: RouteDestination[]
}

/** `reviews`, `reviews.default`, `reviews.default.svc`, `reviews.default.svc.cluster.local` all name the service. */
export function isServiceHost(host: unknown, plan: Pick<Plan, 'service' | 'namespace'>): boolean {
  const { service, namespace } = plan
  return (
    typeof host === 'string' &&
    [
      service,
      `${service}.${namespace}`,
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.cluster.local`
    ].includes(host)
  )
}

/** The VirtualService is for the service itself (one of its hosts names it). */
function servesHost(spec: JsonObject, plan: Plan): boolean {
  return Array.isArray(spec.hosts) && spec.hosts.some(host => isServiceHost(host, plan))
}

function httpRoutes(spec: JsonObject | null): JsonObject[] {
  return Array.isArray(spec?.http) ? (spec.http as JsonObject[]) : []
}

function destinations(route: JsonObject): RouteDestination[] {
  return Array.isArray(route.route) ? (route.route as RouteDestination[]) : []
}

function isShifted(route: JsonObject, plan: Plan): boolean {
  if (plan.routing.route) return route.name === plan.routing.route
  return destinations(route).some(d => isServiceHost(d.destination?.host, plan))
}

/** Indexes of the http routes this release shifts. */
export function shiftedRouteIndexes(spec: JsonObject | null, plan: Plan): number[] {
  return httpRoutes(spec).flatMap((route, index) => (isShifted(route, plan) ? [index] : []))
}

/** Name of the route inserted before a shifted route for a match stage. */
function matchRouteName(
  route: JsonObject,
  index: number,
  shiftedCount: number,
  plan: Plan,
  stage: MatchStage
): string {
  const base =
    typeof route.name === 'string' ? route.name : shiftedCount > 1 ? `${plan.service}-${index}` : plan.service
  return `${base}-${stage.name}`
}

/** Collapses the service's destinations of a route into one on the stable subset, keeping their total weight. */
function pinDestinations(route: HttpRoute, plan: Plan): RouteDestination[] {
  const all = destinations(route)
  const ours = all.filter(d => isServiceHost(d.destination?.host, plan))
  if (ours.length === 1 && ours[0].destination.subset === plan.stable) return all
  const first = ours[0]
  const total = ours.reduce((sum, d) => sum + (typeof d.weight === 'number' ? d.weight : 0), 0)
  const pinned: RouteDestination = {
    ...clone(first),
    destination: { ...clone(first.destination), subset: plan.stable }
  }
  delete pinned.weight
  if (all.length > ours.length) pinned.weight = total
  return all.flatMap(d => (d === first ? [pinned] : ours.includes(d) ? [] : [d]))
}

function stableDestination(route: HttpRoute, plan: Plan): RouteDestination | undefined {
  return destinations(route).find(
    d => isServiceHost(d.destination?.host, plan) && d.destination.subset === plan.stable
  )
}

function onCanary(d: RouteDestination, plan: Plan): RouteDestination {
  return { ...clone(d), destination: { ...clone(d.destination), subset: plan.canary } }
}

/** Splits the stable destination's share: (100-w)% stays on stable, w% goes to canary; zero shares are dropped. */
function weightedDestinations(route: HttpRoute, plan: Plan, weight: number): RouteDestination[] {
  const stable = stableDestination(route, plan)
  if (!stable || weight === 0) return destinations(route)
  const share = typeof stable.weight === 'number' ? stable.weight : 100
  const canaryShare = Math.round((share * weight) / 100)
  const split = [
    { ...clone(stable), weight: share - canaryShare },
    { ...onCanary(stable, plan), weight: canaryShare }
  ].filter(d => d.weight > 0)
  return destinations(route).flatMap(d => (d === stable ? split : [d]))
}

function finalizedDestinations(route: HttpRoute, plan: Plan): RouteDestination[] {
  const stable = stableDestination(route, plan)
  return destinations(route).map(d => (d === stable ? onCanary(d, plan) : d))
}

function matchBlocks(match: Json | undefined): JsonObject[] {
  return Array.isArray(match) && match.length > 0 ? (match as JsonObject[]) : [{}]
}

function headersOf(block: JsonObject): JsonObject {
  return (block.headers as JsonObject | undefined) ?? {}
}

/** AND-s the stage's headers into each of the route's own match blocks (or makes the only block). */
function andHeaders(match: Json | undefined, headers: Record<string, StringMatch>): JsonObject[] {
  return matchBlocks(match).map(block => ({
    ...clone(block),
    headers: { ...headersOf(block), ...clone(headers) }
  }))
}

function matchRoute(route: HttpRoute, plan: Plan, stage: MatchStage, name: string): JsonObject {
  const stable = stableDestination(route, plan)
  const copy = clone(route) as JsonObject
  delete copy.name
  delete copy.match
  delete copy.route
  const target = stable ? onCanary(stable, plan) : undefined
  if (target) delete target.weight
  return { name, match: andHeaders(route.match, stage.headers), ...copy, route: target ? [target] : [] }
}

export class VirtualServiceRouter implements Router {
  readonly resource = VIRTUAL_SERVICE

  primaryName(plan: Plan): string {
    return plan.routing.name
  }

  managedNames(plan: Plan): string[] {
    return [plan.routing.name]
  }

  validate(current: RoutingSpecs, plan: Plan): string[] {
    const name = plan.routing.name
    const spec = current[name]
    const where = `VirtualService ${plan.namespace}/${name}`
    if (!spec)
      return [
        `${where} not found; create it, or set routing.name to the VirtualService that routes ${plan.service}`
      ]
    const routes = httpRoutes(spec)
    const shifted = shiftedRouteIndexes(spec, plan)
    if (plan.routing.route && shifted.length === 0) {
      const names = routes.map(r => r.name).filter(n => typeof n === 'string')
      return [
        `${where}: no http route named '${plan.routing.route}' (routes: ${names.join(', ') || 'none named'}); fix routing.route`
      ]
    }
    if (shifted.length === 0 && !(routes.length === 0 && servesHost(spec, plan))) {
      return [
        `${where}: no http route has a destination with host ${plan.service}; add one, or name the route in routing.route`
      ]
    }
    const problems: string[] = []
    const taken = new Set(routes.map(r => r.name))
    for (const index of shifted) {
      const route = routes[index] as HttpRoute
      if (!destinations(route).some(d => isServiceHost(d.destination?.host, plan))) {
        problems.push(
          `${where}: spec.http[${index}] sends no traffic to host ${plan.service}; name another route`
        )
      }
      for (const stage of plan.stages) {
        if (stage.kind !== 'match') continue
        const inserted = matchRouteName(route, index, shifted.length, plan, stage)
        if (taken.has(inserted)) {
          problems.push(
            `${where}: an http route is already named '${inserted}', the name of the route stage '${stage.name}' adds; rename the stage or the route`
          )
        }
        taken.add(inserted)
        // Istio cannot AND two conditions on one header: the stage's would replace the route's own.
        const overlap = matchBlocks(route.match)
          .flatMap(block => Object.keys(headersOf(block)))
          .find(h => h in stage.headers)
        if (overlap) {
          problems.push(
            `${where}: spec.http[${index}] already matches header '${overlap}', which stage '${stage.name}' also matches; one route cannot require both, so match another header in the stage`
          )
        }
      }
    }
    return problems
  }

  pin(current: RoutingSpecs, plan: Plan): RoutingSpecs {
    const name = plan.routing.name
    const spec = clone(current[name]) as JsonObject
    const shifted = new Set(shiftedRouteIndexes(spec, plan))
    if (shifted.size === 0) {
      // A VirtualService for the service with no http route yet (validate allows no other case): the pin creates it.
      spec.http = [
        ...httpRoutes(spec),
        { name: plan.service, route: [{ destination: { host: plan.service, subset: plan.stable } }] }
      ]
      return { [name]: spec }
    }
    spec.http = httpRoutes(spec).map((route, index) =>
      shifted.has(index) ? { ...route, route: pinDestinations(route as HttpRoute, plan) } : route
    )
    return { [name]: spec }
  }

  stageSpecs(target: RoutingSpecs, plan: Plan, stageIndex: number): RoutingSpecs {
    const name = plan.routing.name
    const spec = clone(target[name]) as JsonObject
    const effect = stageEffect(plan, stageIndex)
    const shifted = shiftedRouteIndexes(spec, plan)
    spec.http = httpRoutes(spec).flatMap((route, index) => {
      if (!shifted.includes(index)) return [route]
      const http = route as HttpRoute
      const inserted = [...effect.matchStages]
        .reverse()
        .map(stage =>
          matchRoute(
            http,
            plan,
            stage as MatchStage,
            matchRouteName(route, index, shifted.length, plan, stage as MatchStage)
          )
        )
      const destinations = effect.finalized
        ? finalizedDestinations(http, plan)
        : weightedDestinations(http, plan, effect.weight)
      return [...inserted, { ...route, route: destinations }]
    })
    return { [name]: spec }
  }

  async readVersionSelectors(kube: KubeClient, plan: Plan): Promise<VersionSelectors> {
    const rules = (await kube.listCustom(DESTINATION_RULE, plan.namespace)).filter(rule =>
      isServiceHost(rule.spec?.host, plan)
    )
    const subsets = rules.flatMap(rule =>
      Array.isArray(rule.spec?.subsets) ? (rule.spec.subsets as { name?: string; labels?: Labels }[]) : []
    )
    const selectorFor = (version: string, role: string): Labels => {
      const subset = subsets.find(s => s.name === version)
      if (!subset) {
        const where = rules.length
          ? `DestinationRule ${rules.map(r => r.metadata.name).join(', ')}`
          : `no DestinationRule for host ${plan.service} in namespace ${plan.namespace}`
        throw new Error(
          `preconditions: ${where} has no subset '${version}' (the ${role} version); add subsets: [{name: ${version}, labels: {${plan.versionLabel}: ${version}}}]`
        )
      }
      // Subset labels alone (e.g. version: v1) also match other services' pods; the app label scopes them.
      return { app: plan.service, ...(subset.labels ?? {}) }
    }
    return { stable: selectorFor(plan.stable, 'stable'), canary: selectorFor(plan.canary, 'canary') }
  }
}
