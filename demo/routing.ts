/**
 * Pure routing logic of the traffic simulator: turns Istio routing objects into a table and routes one request
 * through it the way Envoy does. No I/O here, so tests can feed it objects and a seeded random generator.
 *
 * VirtualService: the first http route whose match (any of its entries; none = everything) fits the request
 * wins; string matchers are exact, prefix, or RE2 regex matched against the whole value; the destination is
 * drawn by weight. RouteRule (Istio 0.2): the rules of the destination service are tried by precedence,
 * highest first, and the first whose `match.request.headers` fit wins.
 */
import { RE2JS } from 're2js'

export type Json = Record<string, unknown>

export interface SimRequest {
  path: string
  method?: string
  authority?: string
  /** Lowercase header names. */
  headers: Record<string, string>
}

/** Where a request lands: a version of the service, or something else (another host, a direct response). */
export interface Target {
  version?: string
  /** Set when the destination is not a version of the service. */
  other?: string
}

export interface WeightedTarget {
  target: Target
  weight: number
}

export type RequestPredicate = (request: SimRequest) => boolean

export interface CompiledRoute {
  /** The route name, or `#<index>` when it has none; the rule name for RouteRules. */
  name: string
  /** Any one must match; an empty list matches every request. */
  matches: RequestPredicate[]
  targets: WeightedTarget[]
}

export interface RoutingTable {
  kind: 'VirtualService' | 'RouteRule' | 'none'
  /** The objects the table came from, e.g. `VirtualService default/reviews`. */
  sources: string[]
  routes: CompiledRoute[]
  /** Where an unmatched request goes; empty: nowhere (404, as Envoy answers without a route). */
  fallback: Target[]
  /** Changes whenever the routing that produced the table changes. */
  fingerprint: string
}

export interface RoutingResult {
  route?: string
  target?: Target
  /** Why there is no target: 'no route' (404) or 'no destination'. */
  failure?: string
}

export interface RoutingObjects {
  virtualServices: Json[]
  destinationRules: Json[]
  routeRules: Json[]
  /** Versions that have a Deployment: where traffic goes when no routing object exists at all. */
  deployedVersions: string[]
}

export interface CompileOptions {
  service: string
  namespace: string
  versionLabel?: string
  /** Which routing to evaluate; default: a VirtualService for the service when there is one, else RouteRules. */
  router?: 'VirtualService' | 'RouteRule'
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const asObject = (value: unknown): Json => (isObject(value) ? value : {})
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

/** A deterministic generator of numbers in [0, 1) (mulberry32), for reproducible runs and tests. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const regexCache = new Map<string, RE2JS>()

function re2(pattern: string): RE2JS {
  let compiled = regexCache.get(pattern)
  if (!compiled) {
    compiled = RE2JS.compile(pattern)
    regexCache.set(pattern, compiled)
  }
  return compiled
}

/** Istio's StringMatch: `exact`, `prefix`, or `regex` (RE2, the whole value must match). */
export function stringMatches(match: unknown, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined || !isObject(match)) return false
  const fold = (text: string) => (ignoreCase ? text.toLowerCase() : text)
  if (typeof match.exact === 'string') return fold(value) === fold(match.exact)
  if (typeof match.prefix === 'string') return fold(value).startsWith(fold(match.prefix))
  if (typeof match.regex === 'string') return re2(match.regex).matches(value)
  return false
}

function queryParams(path: string): URLSearchParams {
  const at = path.indexOf('?')
  return new URLSearchParams(at < 0 ? '' : path.slice(at + 1))
}

function pathOnly(path: string): string {
  const at = path.indexOf('?')
  return at < 0 ? path : path.slice(0, at)
}

/** One HTTPMatchRequest of a VirtualService: every condition it sets must hold. */
export function httpMatchPredicate(match: Json): RequestPredicate {
  const checks: RequestPredicate[] = []
  const ignoreUriCase = match.ignoreUriCase === true
  if (match.uri !== undefined) checks.push(r => stringMatches(match.uri, pathOnly(r.path), ignoreUriCase))
  if (match.method !== undefined) checks.push(r => stringMatches(match.method, r.method ?? 'GET'))
  if (match.authority !== undefined) checks.push(r => stringMatches(match.authority, r.authority))
  for (const [name, condition] of Object.entries(asObject(match.headers)))
    checks.push(r => stringMatches(condition, r.headers[name.toLowerCase()]))
  for (const [name, condition] of Object.entries(asObject(match.withoutHeaders)))
    checks.push(r => !stringMatches(condition, r.headers[name.toLowerCase()]))
  for (const [name, condition] of Object.entries(asObject(match.queryParams)))
    checks.push(r => stringMatches(condition, queryParams(r.path).get(name) ?? undefined))
  // Simulated requests come from inside the mesh: a match limited to gateways other than `mesh` never fits.
  const gateways = asArray(match.gateways)
  if (gateways.length > 0 && !gateways.includes('mesh')) checks.push(() => false)
  return request => checks.every(check => check(request))
}

/** Names a destination host may take for the service: short, namespaced, or fully qualified. */
export function serviceHosts(service: string, namespace: string): Set<string> {
  return new Set([
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`
  ])
}

function weightedTargets(entries: unknown[], toTarget: (entry: Json) => Target): WeightedTarget[] {
  const single = entries.length === 1
  return entries.map(entry => {
    const object = asObject(entry)
    const weight = typeof object.weight === 'number' ? object.weight : single ? 100 : 0
    return { target: toTarget(object), weight }
  })
}

/** Subset name -> version label value, from the DestinationRules of the service. */
export function subsetVersions(
  destinationRules: Json[],
  hosts: Set<string>,
  versionLabel: string
): Map<string, string> {
  const versions = new Map<string, string>()
  for (const rule of destinationRules) {
    const spec = asObject(rule.spec)
    if (typeof spec.host !== 'string' || !hosts.has(spec.host)) continue
    for (const subset of asArray(spec.subsets)) {
      const { name, labels } = asObject(subset)
      const version = asObject(labels)[versionLabel]
      if (typeof name === 'string' && typeof version === 'string') versions.set(name, version)
    }
  }
  return versions
}

function objectName(object: Json): string {
  const metadata = asObject(object.metadata)
  return `${String(metadata.namespace ?? 'default')}/${String(metadata.name ?? '')}`
}

function fingerprintOf(objects: Json[]): string {
  return JSON.stringify(objects.map(object => [objectName(object), object.spec]))
}

/** The routing table of one VirtualService for the service. */
export function compileVirtualService(
  virtualService: Json,
  destinationRules: Json[],
  options: CompileOptions
): RoutingTable {
  const hosts = serviceHosts(options.service, options.namespace)
  const subsets = subsetVersions(destinationRules, hosts, options.versionLabel ?? 'version')
  const toTarget = (entry: Json): Target => {
    const destination = asObject(entry.destination)
    const host = String(destination.host ?? '')
    if (!hosts.has(host)) return { other: host }
    const subset = destination.subset
    if (typeof subset !== 'string') return { other: `${host} (no subset: every version)` }
    const version = subsets.get(subset)
    return version ? { version } : { other: `${host} subset ${subset} (not in a DestinationRule)` }
  }
  const routes = asArray(asObject(virtualService.spec).http).map((entry, index): CompiledRoute => {
    const route = asObject(entry)
    const name = typeof route.name === 'string' ? route.name : `#${index + 1}`
    const matches = asArray(route.match).map(match => httpMatchPredicate(asObject(match)))
    const destinations = asArray(route.route)
    const targets =
      destinations.length > 0
        ? weightedTargets(destinations, toTarget)
        : [{ target: { other: route.redirect ? 'redirect' : 'direct response' }, weight: 100 }]
    return { name, matches, targets }
  })
  return {
    kind: 'VirtualService',
    sources: [`VirtualService ${objectName(virtualService)}`],
    routes,
    fallback: [],
    fingerprint: fingerprintOf([virtualService, ...destinationRules])
  }
}

function precedence(rule: Json): number {
  const value = asObject(rule.spec).precedence
  return typeof value === 'number' ? value : 0
}

/** Istio 0.2 RouteRules of the service, highest precedence first (ties by name, for a stable order). */
export function orderRouteRules(rules: Json[], service: string, namespace: string): Json[] {
  const hosts = serviceHosts(service, namespace)
  return rules
    .filter(rule => hosts.has(String(asObject(asObject(rule.spec).destination).name ?? '')))
    .sort(
      (a, b) =>
        precedence(b) - precedence(a) ||
        String(asObject(a.metadata).name).localeCompare(String(asObject(b.metadata).name))
    )
}

/** `match.request.headers` of a RouteRule; the pseudo-header `uri` matches the request path. */
function routeRulePredicate(rule: Json): RequestPredicate {
  const headers = asObject(asObject(asObject(asObject(rule.spec).match).request).headers)
  const checks = Object.entries(headers).map(([name, condition]): RequestPredicate => {
    const header = name.toLowerCase()
    return header === 'uri'
      ? r => stringMatches(condition, pathOnly(r.path))
      : r => stringMatches(condition, r.headers[header])
  })
  return request => checks.every(check => check(request))
}

export function compileRouteRules(
  rules: Json[],
  deployedVersions: string[],
  options: CompileOptions
): RoutingTable {
  const versionLabel = options.versionLabel ?? 'version'
  const ordered = orderRouteRules(rules, options.service, options.namespace)
  const routes = ordered.map((rule): CompiledRoute => {
    const spec = asObject(rule.spec)
    const toTarget = (entry: Json): Target => {
      const version = asObject(entry.labels)[versionLabel]
      return typeof version === 'string' ? { version } : { other: 'every version' }
    }
    const entries = asArray(spec.route)
    return {
      name: String(asObject(rule.metadata).name ?? ''),
      matches: [routeRulePredicate(rule)],
      targets:
        entries.length > 0
          ? weightedTargets(entries, toTarget)
          : deployedVersions.map(version => ({ target: { version }, weight: 1 }))
    }
  })
  return {
    kind: 'RouteRule',
    sources: ordered.map(rule => `RouteRule ${objectName(rule)}`),
    routes,
    // Without a rule, Istio 0.2 balances over every pod of the service, whatever its version.
    fallback: deployedVersions.map(version => ({ version })),
    // Deployments matter only while no rule routes the service.
    fingerprint: fingerprintOf(ordered) + (ordered.length === 0 ? JSON.stringify(deployedVersions) : '')
  }
}

/** The table the sidecars of the service would run with, given the objects in the cluster. */
export function compileRouting(objects: RoutingObjects, options: CompileOptions): RoutingTable {
  const hosts = serviceHosts(options.service, options.namespace)
  const virtualService = objects.virtualServices.find(object =>
    asArray(asObject(object.spec).hosts).some(host => hosts.has(String(host)))
  )
  const router = options.router ?? (virtualService ? 'VirtualService' : 'RouteRule')
  if (router === 'VirtualService' && virtualService)
    return compileVirtualService(virtualService, objects.destinationRules, options)
  if (router === 'RouteRule') return compileRouteRules(objects.routeRules, objects.deployedVersions, options)
  return {
    kind: 'none',
    sources: [],
    routes: [],
    fallback: objects.deployedVersions.map(version => ({ version })),
    fingerprint: JSON.stringify(objects.deployedVersions)
  }
}

/** Draws one target by weight; undefined when every weight is zero. */
export function pickWeighted(targets: WeightedTarget[], random: () => number): Target | undefined {
  const total = targets.reduce((sum, entry) => sum + Math.max(0, entry.weight), 0)
  if (total <= 0) return undefined
  let point = random() * total
  for (const entry of targets) {
    point -= Math.max(0, entry.weight)
    if (point < 0) return entry.target
  }
  return targets.filter(entry => entry.weight > 0).at(-1)?.target
}

/** Routes one request: the first route that matches, then a destination drawn by weight. */
export function routeRequest(table: RoutingTable, request: SimRequest, random: () => number): RoutingResult {
  for (const route of table.routes) {
    if (route.matches.length > 0 && !route.matches.some(match => match(request))) continue
    const target = pickWeighted(route.targets, random)
    return target ? { route: route.name, target } : { route: route.name, failure: 'no destination' }
  }
  if (table.fallback.length > 0)
    return {
      target:
        table.fallback[Math.min(table.fallback.length - 1, Math.floor(random() * table.fallback.length))]
    }
  return { failure: 'no route' }
}

/** Label of where a request landed, as the split shows it. */
export function targetLabel(result: RoutingResult): string {
  if (result.target?.version) return result.target.version
  if (result.target?.other) return result.target.other
  return result.failure ?? 'nowhere'
}

/** `v1 95.1% / v2 4.9%` from request counts per destination (sorted by name; empty when no requests). */
export function formatSplit(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0)
  if (total === 0) return 'no requests'
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, count]) => {
      const percent = (100 * count) / total
      const text = percent === 100 ? '100' : percent.toFixed(1)
      return `${label} ${text}%`
    })
    .join(' / ')
}
