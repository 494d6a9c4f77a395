/**
 * Gateway API HTTPRoutes as a mesh proxy (a Service parent, GAMMA) or a Gateway runs them. Unlike a
 * VirtualService, rule order does not decide: across every rule of every route attached to the entry point, the
 * most specific match wins (the HTTPRouteRule precedence of the Gateway API): an Exact path, then a PathPrefix,
 * longest first (a RegularExpression path after both, as Istio ranks it: the spec leaves it to implementations),
 * then a method match, then more header matches, then more query param matches; ties go to the oldest route, then
 * by `namespace/name`, then to the first rule in list order. The table lists the matches in that order, so the
 * first that fits is the one that wins.
 *
 * backendRefs name Services: a version is what the Service's selector picks among the Deployments' pods (a
 * Service that selects several versions spreads its share over their replicas). Weights are relative, 1 when
 * unset. A `RequestMirror` filter on the rule copies `percent` (or `fraction`) of its requests, all when unset;
 * a `ResponseHeaderModifier` that sets or adds `Set-Cookie`, on the rule or a backendRef, sets cookies.
 */
import type { EntryPoint } from './virtual-service-routing.js'
import {
  asArray,
  asObject,
  isObject,
  objectName,
  pathOnly,
  queryParams,
  re2FullMatch,
  type CompiledRoute,
  type Json,
  type Mirror,
  type RequestPredicate,
  type RoutingTable,
  type SimRequest,
  type WeightedTarget
} from './route-table.js'

/** The pods of one Deployment, as Service selectors see them. */
export interface Workload {
  namespace: string
  labels: Record<string, string>
  replicas: number
}

export interface HttpRouteOptions {
  service: string
  namespace: string
  versionLabel?: string
  entry: EntryPoint
  services: Json[]
  workloads: Workload[]
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io'

function namespaceOf(object: Json): string {
  return String(asObject(object.metadata).namespace ?? 'default')
}

/** The route is attached to the entry point: the service itself for the mesh, else the Gateway (and its host). */
function attachedAt(route: Json, options: HttpRouteOptions): boolean {
  const spec = asObject(route.spec)
  const where = namespaceOf(route)
  const parents = asArray(spec.parentRefs).map(asObject)
  if (options.entry.gateway === 'mesh') {
    return parents.some(
      parent =>
        parent.group === '' &&
        parent.kind === 'Service' &&
        parent.name === options.service &&
        (parent.namespace ?? where) === options.namespace
    )
  }
  const toGateway = parents.some(
    parent =>
      (parent.group ?? GATEWAY_GROUP) === GATEWAY_GROUP &&
      (parent.kind ?? 'Gateway') === 'Gateway' &&
      `${String(parent.namespace ?? where)}/${String(parent.name)}` === options.entry.gateway
  )
  const hostnames = asArray(spec.hostnames).map(String)
  const host = options.entry.host ?? ''
  const hostMatches =
    hostnames.length === 0 ||
    hostnames.some(name => name === host || (name.startsWith('*.') && host.endsWith(name.slice(1))))
  return toGateway && hostMatches
}

/** Oldest first, then by `namespace/name`: the Gateway API's order between routes. */
function routeOrder(a: Json, b: Json): number {
  const created = (route: Json) => String(asObject(route.metadata).creationTimestamp ?? '')
  return created(a).localeCompare(created(b)) || objectName(a).localeCompare(objectName(b))
}

/** A PathPrefix matches whole path elements: `/abc` matches `/abc`, `/abc/` and `/abc/def`, not `/abcd`. */
function prefixMatches(prefix: string, path: string): boolean {
  const trimmed = prefix.replace(/\/+$/, '')
  return trimmed === '' || path === trimmed || path.startsWith(`${trimmed}/`)
}

/** Only the first entry of a name counts (header names case-insensitively). */
function firstByName(entries: unknown, foldCase: boolean): Json[] {
  const seen = new Set<string>()
  return asArray(entries)
    .map(asObject)
    .filter(entry => {
      const name = foldCase ? String(entry.name).toLowerCase() : String(entry.name)
      if (seen.has(name)) return false
      seen.add(name)
      return true
    })
}

function valueMatches(match: Json, value: string | null | undefined): boolean {
  if (value === undefined || value === null) return false
  const expected = String(match.value ?? '')
  return match.type === 'RegularExpression' ? re2FullMatch(expected, value) : value === expected
}

/** One HTTPRouteMatch and what ranks it. */
interface RankedMatch {
  predicate: RequestPredicate
  pathRank: number
  pathLength: number
  hasMethod: boolean
  headerCount: number
  queryCount: number
}

const PATH_RANKS: Record<string, number> = { Exact: 3, PathPrefix: 2, RegularExpression: 1 }

export function rankMatch(match: Json): RankedMatch {
  const path = asObject(match.path)
  const type = typeof path.type === 'string' ? path.type : 'PathPrefix'
  const value = typeof path.value === 'string' ? path.value : '/'
  const headers = firstByName(match.headers, true)
  const queries = firstByName(match.queryParams, false)
  const method = typeof match.method === 'string' ? match.method : undefined
  const pathFits = (requestPath: string) =>
    type === 'Exact'
      ? requestPath === value
      : type === 'RegularExpression'
        ? re2FullMatch(value, requestPath)
        : prefixMatches(value, requestPath)
  const predicate = (request: SimRequest) =>
    pathFits(pathOnly(request.path)) &&
    (method === undefined || (request.method ?? 'GET') === method) &&
    headers.every(header => valueMatches(header, request.headers[String(header.name).toLowerCase()])) &&
    queries.every(query => valueMatches(query, queryParams(request.path).get(String(query.name))))
  return {
    predicate,
    pathRank: PATH_RANKS[type] ?? 0,
    pathLength: type === 'PathPrefix' ? value.replace(/\/+$/, '').length : value.length,
    hasMethod: method !== undefined,
    headerCount: headers.length,
    queryCount: queries.length
  }
}

/** Negative when `a` takes precedence over `b`; zero on a tie the order between routes and rules breaks. */
export function comparePrecedence(a: RankedMatch, b: RankedMatch): number {
  return (
    b.pathRank - a.pathRank ||
    b.pathLength - a.pathLength ||
    Number(b.hasMethod) - Number(a.hasMethod) ||
    b.headerCount - a.headerCount ||
    b.queryCount - a.queryCount
  )
}

function filtersOf(owner: Json, type: string): Json[] {
  return asArray(owner.filters)
    .map(asObject)
    .filter(filter => filter.type === type)
}

function responseCookies(owner: Json): string[] {
  return filtersOf(owner, 'ResponseHeaderModifier').flatMap(filter => {
    const modifier = asObject(filter.responseHeaderModifier)
    return [...asArray(modifier.set), ...asArray(modifier.add)]
      .map(asObject)
      .filter(
        header => String(header.name).toLowerCase() === 'set-cookie' && typeof header.value === 'string'
      )
      .map(header => header.value as string)
  })
}

function mirrorPercent(mirror: Json): number {
  if (typeof mirror.percent === 'number') return mirror.percent
  const fraction = asObject(mirror.fraction)
  if (typeof fraction.numerator === 'number') {
    const denominator = typeof fraction.denominator === 'number' ? fraction.denominator : 100
    return (100 * fraction.numerator) / denominator
  }
  return 100
}

function selects(selector: Json, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector)
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value)
}

/** Resolves backendRefs to the versions of the service (or other destinations) their Services select. */
function backendResolver(options: HttpRouteOptions) {
  const serviceNamed = (namespace: string, name: string) =>
    options.services.find(
      service => namespaceOf(service) === namespace && asObject(service.metadata).name === name
    )
  const ownSelector = asObject(asObject(serviceNamed(options.namespace, options.service)?.spec).selector)
  const versionLabel = options.versionLabel ?? 'version'
  return (ref: Json, where: string, weight: number, setCookies: string[]): WeightedTarget[] => {
    const name = String(ref.name ?? '')
    const extra = setCookies.length > 0 ? { setCookies } : {}
    if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service')
      return [{ target: { other: `${String(ref.kind)} ${name}` }, weight, ...extra }]
    const namespace = String(ref.namespace ?? where)
    const service = serviceNamed(namespace, name)
    if (!service) return [{ target: { other: `${name} (no such Service)` }, weight, ...extra }]
    const selector = asObject(asObject(service.spec).selector)
    const pods = options.workloads.filter(
      workload =>
        workload.namespace === namespace && workload.replicas > 0 && selects(selector, workload.labels)
    )
    if (pods.length === 0) return [{ target: { other: `${name} (no endpoints)` }, weight, ...extra }]
    const replicas = pods.reduce((sum, workload) => sum + workload.replicas, 0)
    return pods.map(workload => ({
      target:
        namespace === options.namespace && selects(ownSelector, workload.labels)
          ? { version: workload.labels[versionLabel] ?? 'unversioned' }
          : { other: name },
      weight: (weight * workload.replicas) / replicas,
      ...extra
    }))
  }
}

/** The routing table of the HTTPRoutes attached to the entry point, in precedence order. */
export function compileHttpRoutes(routes: Json[], options: HttpRouteOptions): RoutingTable {
  const attached = routes.filter(route => attachedAt(route, options)).sort(routeOrder)
  const resolve = backendResolver(options)
  const ranked = attached.flatMap((route, routeIndex) => {
    const where = namespaceOf(route)
    return asArray(asObject(route.spec).rules).flatMap((entry, ruleIndex) => {
      const rule = asObject(entry)
      const compiled = compileRule(rule, `${asObject(route.metadata).name}#${ruleIndex + 1}`, where, resolve)
      const matches = asArray(rule.matches).length > 0 ? asArray(rule.matches).map(asObject) : [{}]
      return matches.map(match => ({ rank: rankMatch(match), routeIndex, ruleIndex, compiled }))
    })
  })
  ranked.sort(
    (a, b) => comparePrecedence(a.rank, b.rank) || a.routeIndex - b.routeIndex || a.ruleIndex - b.ruleIndex
  )
  return {
    kind: 'HTTPRoute',
    sources: attached.map(route => `HTTPRoute ${objectName(route)}`),
    routes: ranked.map(({ rank, compiled }) => ({ ...compiled, matches: [rank.predicate] })),
    // Attached routes that match nothing answer 404.
    fallback: [],
    fingerprint: JSON.stringify([
      attached.map(route => [objectName(route), route.spec]),
      options.services.map(service => [objectName(service), asObject(service.spec).selector]),
      options.workloads
    ])
  }
}

function compileRule(
  rule: Json,
  fallbackName: string,
  where: string,
  resolve: ReturnType<typeof backendResolver>
): Omit<CompiledRoute, 'matches'> {
  const name = typeof rule.name === 'string' ? rule.name : fallbackName
  const ruleCookies = responseCookies(rule)
  const targets: WeightedTarget[] = filtersOf(rule, 'RequestRedirect').length
    ? [{ target: { other: 'redirect' }, weight: 1 }]
    : asArray(rule.backendRefs)
        .map(asObject)
        .flatMap(ref =>
          resolve(ref, where, typeof ref.weight === 'number' ? ref.weight : 1, [
            ...ruleCookies,
            ...responseCookies(ref)
          ])
        )
  const [mirrorFilter] = filtersOf(rule, 'RequestMirror')
  if (!mirrorFilter) return { name, targets }
  const requestMirror = asObject(mirrorFilter.requestMirror)
  const mirror: Mirror = {
    targets: isObject(requestMirror.backendRef) ? resolve(requestMirror.backendRef, where, 1, []) : [],
    percent: mirrorPercent(requestMirror)
  }
  return { name, targets, mirror }
}
