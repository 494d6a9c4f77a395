/**
 * VirtualService router (networking.istio.io). Shifts the http routes that send traffic to the service (or the one
 * route each routing entry names) between the DestinationRule's stable and canary subsets; every other route and
 * field is left exactly as it is.
 */
import { clone, type Json, type JsonObject } from '../common/json.js'
import type { KubeClient, Labels, ResourceType } from '../kube/kube-client.js'
import { stageEffect, type StageEffect } from '../plan/stages.js'
import type { MatchStage, Plan, StringMatch } from '../plan/types.js'
import {
  canaryShare,
  insertedNameClashes,
  insertedNames,
  listedObjects,
  shareProblems,
  shiftedIndexes,
  routeListHooks,
  STICKY_SUFFIX,
  type RouteList
} from './route-list.js'
import { type ManagedObject, type RouterDefinition, type RoutingSpecs } from './router.js'
import { stickyCookie, stickyCookieMatch } from './sticky.js'
import { ISTIO_LATENCY_BUCKETS_MS, istioMetricTemplate, istioVersionCounter } from './istio-telemetry.js'

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
type HttpRoute = JsonObject

/** Indexes of the http routes a release shifts in this VirtualService (the plan's first routing object by default). */
export function shiftedRouteIndexes(
  spec: JsonObject | null,
  plan: Plan,
  object: ManagedObject = listedObjects(plan)[0]
): number[] {
  return shiftedIndexes(HTTP_ROUTES, spec, object, plan)
}

/**
 * `reviews`, `reviews.default`, `reviews.default.svc`, `reviews.default.svc.cluster.local` all name the service;
 * the short name only in a VirtualService of the service's own namespace (Istio reads it relative to the
 * VirtualService's namespace, so in `istio-ingress` it names another service).
 */
export function isServiceHost(
  host: unknown,
  plan: Pick<Plan, 'service' | 'namespace'>,
  where: string = plan.namespace
): boolean {
  const { service, namespace } = plan
  const qualified = [
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`
  ]
  return typeof host === 'string' && (qualified.includes(host) || (host === service && where === namespace))
}

function destinations(route: JsonObject): RouteDestination[] {
  return Array.isArray(route.route) ? (route.route as RouteDestination[]) : []
}

function ours(route: JsonObject, plan: Plan, where?: string): RouteDestination[] {
  return destinations(route).filter(d => isServiceHost(d.destination?.host, plan, where))
}

function stableDestination(route: HttpRoute, plan: Plan): RouteDestination | undefined {
  return ours(route, plan).find(d => d.destination.subset === plan.stable)
}

/** The canary destination is the stable one on the canary subset: same host, port and headers. */
function onCanary(d: RouteDestination, plan: Plan): RouteDestination {
  return { ...clone(d), destination: { ...clone(d.destination), subset: plan.canary } }
}

function shareOf(d: RouteDestination): number {
  return typeof d.weight === 'number' ? d.weight : 100
}

const HTTP_ROUTES: RouteList<HttpRoute> = {
  routes: spec => (Array.isArray(spec?.http) ? (spec.http as HttpRoute[]) : []),
  withRoutes: (spec, routes) => ({ ...spec, http: routes }),
  isShifted(route, object, plan) {
    if (object.route) return route.name === object.route
    return ours(route, plan, object.namespace).length > 0
  },
  expand: (route, base, plan, effect, revision) => [
    ...insertedRoutes(route, base, plan, effect, revision),
    { ...route, ...shiftedFields(route, plan, effect, revision) }
  ]
}

function matchBlocks(match: Json | undefined): JsonObject[] {
  return Array.isArray(match) && match.length > 0 ? (match as JsonObject[]) : [{}]
}

function headersOf(block: JsonObject): JsonObject {
  return (block.headers as JsonObject | undefined) ?? {}
}

/** AND-s `extra` into each of the route's own match blocks (or makes the only block). */
function andMatch(match: Json | undefined, extra: JsonObject): JsonObject[] {
  return matchBlocks(match).map(block => {
    const combined: JsonObject = { ...clone(block), ...clone(extra) }
    if (extra.headers) combined.headers = { ...headersOf(block), ...clone(extra.headers as JsonObject) }
    return combined
  })
}

/** A copy of the route, restricted to requests that also match `extra`, sending them to `route`. */
function restrictedCopy(route: HttpRoute, name: string, extra: JsonObject, to: JsonObject[]): HttpRoute {
  const copy = clone(route)
  delete copy.name
  delete copy.match
  delete copy.route
  return { name, match: andMatch(route.match, extra), ...copy, route: to }
}

function canaryOnly(route: HttpRoute, plan: Plan): JsonObject[] {
  const stable = stableDestination(route, plan)
  if (!stable) return []
  const canary = onCanary(stable, plan)
  delete canary.weight
  return [canary]
}

/** Routes inserted before a shifted route: later match stages first, then the sticky route, then a method mirror. */
function insertedRoutes(
  route: HttpRoute,
  base: string,
  plan: Plan,
  effect: StageEffect,
  revision: string
): HttpRoute[] {
  const inserted = [...effect.matchStages]
    .reverse()
    .map((stage: MatchStage) =>
      restrictedCopy(
        route,
        `${base}-${stage.name}`,
        { headers: clone(stage.headers) as JsonObject },
        canaryOnly(route, plan)
      )
    )
  if (effect.sticky && plan.sessionAffinity) {
    const cookie: StringMatch = { regex: stickyCookieMatch(plan.sessionAffinity, revision) }
    inserted.push(
      restrictedCopy(route, `${base}-${STICKY_SUFFIX}`, { headers: { cookie } }, canaryOnly(route, plan))
    )
  }
  const mirror = effect.mirror
  if (mirror?.methods) {
    const methods = { method: { regex: mirror.methods.join('|') } }
    inserted.push({
      ...restrictedCopy(route, `${base}-${mirror.name}`, methods, destinations(route)),
      ...mirrorFields(route, plan, mirror.percent)
    })
  }
  return inserted
}

function mirrorFields(route: HttpRoute, plan: Plan, percent: number): JsonObject {
  const stable = stableDestination(route, plan)
  if (!stable) return {}
  const { host, port } = stable.destination
  return {
    mirror: { host, subset: plan.canary, ...(port !== undefined && { port: clone(port) }) },
    mirrorPercentage: { value: percent }
  }
}

/** The shifted route's own destinations (and mirror) once the effect is in place. */
function shiftedFields(route: HttpRoute, plan: Plan, effect: StageEffect, revision: string): JsonObject {
  const stable = stableDestination(route, plan)
  const all = destinations(route)
  if (!stable) return { route: all }
  if (effect.finalized) return { route: all.map(d => (d === stable ? onCanary(d, plan) : d)) }
  const mirror =
    effect.mirror && !effect.mirror.methods ? mirrorFields(route, plan, effect.mirror.percent) : {}
  if (effect.weight === 0) return { route: all, ...mirror }
  const share = shareOf(stable)
  const toCanary = canaryShare(share, effect.weight)
  const canary = onCanary(stable, plan)
  if (effect.sticky && plan.sessionAffinity) setCookieOn(canary, stickyCookie(plan.sessionAffinity, revision))
  const split = [
    { ...clone(stable), weight: share - toCanary },
    { ...canary, weight: toCanary }
  ].filter(d => d.weight > 0)
  return { route: all.flatMap(d => (d === stable ? split : [d])), ...mirror }
}

/** Adds `Set-Cookie` to the responses of a destination, keeping its own header operations. */
function setCookieOn(destination: RouteDestination, cookie: string): void {
  const headers = (destination.headers as JsonObject | undefined) ?? {}
  const response = (headers.response as JsonObject | undefined) ?? {}
  const add = (response.add as JsonObject | undefined) ?? {}
  destination.headers = { ...headers, response: { ...response, add: { ...add, 'set-cookie': cookie } } }
}

/** Collapses the service's destinations into the stable one, keeping its fields and their total weight. */
function pinDestinations(route: HttpRoute, plan: Plan): RouteDestination[] {
  const all = destinations(route)
  const service = ours(route, plan)
  if (service.length === 1 && service[0].destination.subset === plan.stable) return all
  // Keep the existing stable destination's own fields (port, headers); only without one derive it from the first.
  const kept = stableDestination(route, plan) ?? service[0]
  const total = service.reduce((sum, d) => sum + (typeof d.weight === 'number' ? d.weight : 0), 0)
  const pinned: RouteDestination = {
    ...clone(kept),
    destination: { ...clone(kept.destination), subset: plan.stable }
  }
  delete pinned.weight
  if (kept !== stableDestination(route, plan)) delete pinned.headers
  if (all.length > service.length) pinned.weight = total
  const first = service[0]
  return all.flatMap(d => (d === first ? [pinned] : service.includes(d) ? [] : [d]))
}

function label(object: ManagedObject): string {
  return `VirtualService ${object.key}`
}

function servesHost(spec: JsonObject, plan: Plan, where: string): boolean {
  return Array.isArray(spec.hosts) && spec.hosts.some(host => isServiceHost(host, plan, where))
}

function validateObject(spec: JsonObject | null, object: ManagedObject, plan: Plan): string[] {
  const where = label(object)
  if (!spec) {
    return [
      `${where} not found; create it, or set routing.name to the VirtualService that routes ${plan.service}`
    ]
  }
  const routes = HTTP_ROUTES.routes(spec)
  const shifted = shiftedIndexes(HTTP_ROUTES, spec, object, plan)
  if (object.route && shifted.length === 0) {
    const names = routes.map(r => r.name).filter(n => typeof n === 'string')
    return [
      `${where}: no http route named '${object.route}' (routes: ${names.join(', ') || 'none named'}); fix routing.route`
    ]
  }
  if (shifted.length === 0 && !(routes.length === 0 && servesHost(spec, plan, object.namespace))) {
    return [
      `${where}: no http route has a destination with host ${plan.service}; add one, or name the route in routing.route`
    ]
  }
  const problems: string[] = []
  const taken = new Set(routes.map(r => r.name))
  for (const index of shifted) {
    const route = routes[index]
    if (ours(route, plan).length === 0) {
      problems.push(
        `${where}: spec.http[${index}] sends no traffic to host ${plan.service}; name another route`
      )
    }
    if (route.mirror !== undefined && plan.stages.some(stage => stage.kind === 'mirror')) {
      problems.push(
        `${where}: spec.http[${index}] already mirrors traffic; a route has one mirror, so remove it or the plan's mirror stage`
      )
    }
    problems.push(
      ...insertedNameClashes(route, index, shifted.length, plan, taken, where, {
        existing: 'an http route',
        inserted: 'route'
      })
    )
    // Istio cannot AND two conditions on one header: the stage's would replace the route's own.
    const own = matchBlocks(route.match).flatMap(block => Object.keys(headersOf(block)))
    for (const stage of plan.stages) {
      if (stage.kind !== 'match') continue
      const overlap = own.find(h => h in stage.headers)
      if (overlap) {
        problems.push(
          `${where}: spec.http[${index}] already matches header '${overlap}', which stage '${stage.name}' also matches; one route cannot require both, so match another header in the stage`
        )
      }
    }
    if (plan.sessionAffinity && own.includes('cookie')) {
      problems.push(
        `${where}: spec.http[${index}] already matches the cookie header, which the sticky route of sessionAffinity needs; remove sessionAffinity or the route's cookie match`
      )
    }
  }
  return problems
}

/** How a route in this object names the service: by its short name only from the service's own namespace. */
function hostFrom(object: ManagedObject, plan: Plan): string {
  return object.namespace === plan.namespace
    ? plan.service
    : `${plan.service}.${plan.namespace}.svc.cluster.local`
}

function pinObject(spec: JsonObject, object: ManagedObject, plan: Plan): JsonObject {
  const pinned = clone(spec)
  const shifted = new Set(shiftedIndexes(HTTP_ROUTES, pinned, object, plan))
  const routes = HTTP_ROUTES.routes(pinned)
  if (shifted.size === 0) {
    // A VirtualService for the service with no http route yet (validate allows no other case): the pin creates it.
    return HTTP_ROUTES.withRoutes(pinned, [
      ...routes,
      { name: plan.service, route: [{ destination: { host: hostFrom(object, plan), subset: plan.stable } }] }
    ])
  }
  return HTTP_ROUTES.withRoutes(
    pinned,
    routes.map((route, index) =>
      shifted.has(index) ? { ...route, route: pinDestinations(route, plan) } : route
    )
  )
}

/** Shifted routes of the target across the objects, with their stable share, for weights and rounding. */
function stableShares(target: RoutingSpecs, plan: Plan): { where: string; share: number }[] {
  return listedObjects(plan).flatMap(object => {
    const spec = target[object.key]
    const routes = HTTP_ROUTES.routes(spec)
    return shiftedIndexes(HTTP_ROUTES, spec, object, plan).flatMap(index => {
      const stable = stableDestination(routes[index], plan)
      return stable ? [{ where: `${label(object)} spec.http[${index}]`, share: shareOf(stable) }] : []
    })
  })
}

export const virtualServiceRouter: RouterDefinition = {
  kind: 'VirtualService',
  resource: VIRTUAL_SERVICE,
  syntax: {
    latencyBucketsMs: ISTIO_LATENCY_BUCKETS_MS['telemetry-v2'],
    optionKeys: [],
    severalObjects: true
  },
  rbac: [
    { apiGroup: 'networking.istio.io', resource: 'virtualservices', verbs: ['get', 'update'] },
    { apiGroup: 'networking.istio.io', resource: 'destinationrules', verbs: ['list'] }
  ],
  ...routeListHooks(HTTP_ROUTES, { validate: validateObject, pin: pinObject }),
  appliedWeight(target, plan, stageIndex) {
    const [first] = stableShares(target, plan)
    const weight = stageEffect(plan, stageIndex).weight
    if (!first || weight === 0 || weight === 100) return weight
    return Math.round((100 * canaryShare(first.share, weight)) / first.share)
  },
  splitProblems: (target, plan) =>
    stableShares(target, plan).flatMap(({ where, share }) => shareProblems(plan, share, where)),
  stableRoutedElsewhere(specs, plan) {
    return listedObjects(plan).flatMap(object => {
      const spec = specs[object.key]
      const managed = new Set([
        ...shiftedIndexes(HTTP_ROUTES, spec, object, plan, insertedNames(HTTP_ROUTES, spec, object, plan))
      ])
      const places = HTTP_ROUTES.routes(spec).flatMap((route, index) =>
        !managed.has(index) && stableDestination(route, plan) ? [`${label(object)} spec.http[${index}]`] : []
      )
      const tcpTls = ['tcp', 'tls'].flatMap(kind =>
        (Array.isArray(spec?.[kind]) ? (spec[kind] as JsonObject[]) : []).flatMap((route, index) =>
          stableDestination(route, plan) ? [`${label(object)} spec.${kind}[${index}]`] : []
        )
      )
      return [...places, ...tcpTls]
    })
  },
  async readVersionSelectors(kube: KubeClient, plan: Plan) {
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
  },
  metricTemplate: (template, window) => istioMetricTemplate('telemetry-v2', template, window),
  versionCounter: (counter, version) => istioVersionCounter('telemetry-v2', counter, version)
}
