/**
 * What every routing API compiles to in the traffic simulator: an ordered table of routes, each with request
 * predicates, weighted destinations, an optional mirror and the cookies its responses set. A request takes the
 * first route that matches (each compiler orders its table the way its proxy evaluates the API), then a
 * destination drawn by weight. No I/O here, so tests can feed it objects and a seeded random source.
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
  /** `Set-Cookie` values this destination's responses carry (response header operations of the routing). */
  setCookies?: string[]
}

/** A copy of a share of the route's requests sent elsewhere; the copy's response is discarded. */
export interface Mirror {
  targets: WeightedTarget[]
  /** 0..100 */
  percent: number
}

export type RequestPredicate = (request: SimRequest) => boolean

export interface CompiledRoute {
  /** The route or rule name, or `#<index>` when it has none. */
  name: string
  /** Any one must match; an empty list matches every request. */
  matches: RequestPredicate[]
  targets: WeightedTarget[]
  mirror?: Mirror
}

export interface RoutingTable {
  kind: 'VirtualService' | 'RouteRule' | 'HTTPRoute' | 'none'
  /** The objects the table came from, e.g. `VirtualService default/reviews`. */
  sources: string[]
  /** In evaluation order: the first that matches wins. */
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
  /** The percent of the matched route's requests its mirror copies; unset: the route has no mirror. */
  mirrorPercent?: number
  /** Where the mirror sent a copy of this request. */
  mirror?: Target
  /** `Set-Cookie` values of the response. */
  setCookies?: string[]
}

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
export const asObject = (value: unknown): Json => (isObject(value) ? value : {})
export const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])

const regexCache = new Map<string, RE2JS>()

/** Envoy's safe regex: RE2, and the whole value must match. */
export function re2FullMatch(pattern: string, value: string): boolean {
  let compiled = regexCache.get(pattern)
  if (!compiled) {
    compiled = RE2JS.compile(pattern)
    regexCache.set(pattern, compiled)
  }
  return compiled.matches(value)
}

export function queryParams(path: string): URLSearchParams {
  const at = path.indexOf('?')
  return new URLSearchParams(at < 0 ? '' : path.slice(at + 1))
}

export function pathOnly(path: string): string {
  const at = path.indexOf('?')
  return at < 0 ? path : path.slice(0, at)
}

/** `namespace/name` of an object. */
export function objectName(object: Json): string {
  const metadata = asObject(object.metadata)
  return `${String(metadata.namespace ?? 'default')}/${String(metadata.name ?? '')}`
}

export function fingerprintOf(objects: Json[]): string {
  return JSON.stringify(objects.map(object => [objectName(object), object.spec]))
}

/** Names a host may give the service from an object in namespace `where`: the short name only from its own. */
export function namesService(host: unknown, service: string, namespace: string, where: string): boolean {
  if (typeof host !== 'string') return false
  const qualified = [
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`
  ]
  return qualified.includes(host) || (host === service && where === namespace)
}

/** Draws one destination by weight (weights are relative); undefined when every weight is zero. */
export function pickWeighted(targets: WeightedTarget[], random: () => number): WeightedTarget | undefined {
  const total = targets.reduce((sum, entry) => sum + Math.max(0, entry.weight), 0)
  if (total <= 0) return undefined
  let point = random() * total
  for (const entry of targets) {
    point -= Math.max(0, entry.weight)
    if (point < 0) return entry
  }
  return targets.filter(entry => entry.weight > 0).at(-1)
}

/**
 * Routes one request: the first route that matches, a destination drawn by weight, and (at the mirror's
 * percentage) a copy to the mirror, whatever happens to the request itself.
 */
export function routeRequest(table: RoutingTable, request: SimRequest, random: () => number): RoutingResult {
  for (const route of table.routes) {
    if (route.matches.length > 0 && !route.matches.some(match => match(request))) continue
    const picked = pickWeighted(route.targets, random)
    const mirrored =
      route.mirror && random() * 100 < route.mirror.percent
        ? pickWeighted(route.mirror.targets, random)
        : undefined
    const result: RoutingResult = picked
      ? { route: route.name, target: picked.target }
      : { route: route.name, failure: 'no destination' }
    if (route.mirror) result.mirrorPercent = route.mirror.percent
    if (mirrored) result.mirror = mirrored.target
    if (picked?.setCookies?.length) result.setCookies = picked.setCookies
    return result
  }
  if (table.fallback.length > 0)
    return {
      target:
        table.fallback[Math.min(table.fallback.length - 1, Math.floor(random() * table.fallback.length))]
    }
  return { failure: 'no route' }
}

/** Label of a destination, as the split shows it. */
export function describeTarget(target: Target): string {
  return target.version ?? target.other ?? 'nowhere'
}

/** Label of where a request landed, as the split shows it. */
export function targetLabel(result: RoutingResult): string {
  return result.target ? describeTarget(result.target) : (result.failure ?? 'nowhere')
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
