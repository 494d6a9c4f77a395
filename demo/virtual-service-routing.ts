/**
 * A VirtualService as the proxy at one entry point runs it (the mesh's sidecars, or an ingress gateway): the first
 * http route whose match (any of its entries; none = everything) fits the request wins; string matchers are
 * exact, prefix, or RE2 regex matched against the whole value; the destination is drawn by weight, its subset
 * resolved through the DestinationRules; `mirror` copies `mirrorPercentage` of the route's requests (all when
 * unset); `headers.response` `set`/`add` of `set-cookie`, on the route or the destination, sets cookies.
 */
import {
  asArray,
  asObject,
  fingerprintOf,
  isObject,
  namesService,
  objectName,
  pathOnly,
  queryParams,
  re2FullMatch,
  type CompiledRoute,
  type Json,
  type RequestPredicate,
  type RoutingTable,
  type Target,
  type WeightedTarget
} from './route-table.js'

/** Where requests enter: `mesh` (a sidecar), or an ingress gateway as `namespace/name` with the host asked for. */
export interface EntryPoint {
  gateway: string
  host?: string
}

export const MESH: EntryPoint = { gateway: 'mesh' }

export interface VirtualServiceOptions {
  service: string
  namespace: string
  versionLabel?: string
  entry?: EntryPoint
}

/** Istio's StringMatch: `exact`, `prefix`, or `regex` (RE2, the whole value must match). */
export function stringMatches(match: unknown, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined || !isObject(match)) return false
  const fold = (text: string) => (ignoreCase ? text.toLowerCase() : text)
  if (typeof match.exact === 'string') return fold(value) === fold(match.exact)
  if (typeof match.prefix === 'string') return fold(value).startsWith(fold(match.prefix))
  if (typeof match.regex === 'string') return re2FullMatch(match.regex, value)
  return false
}

/** A gateway name of a VirtualService as Istio reads it: relative to the VirtualService's namespace. */
function qualifiedGateway(name: unknown, where: string): string {
  const text = String(name)
  return text === 'mesh' || text.includes('/') ? text : `${where}/${text}`
}

function gatewaysOf(names: unknown, where: string): string[] {
  const list = asArray(names)
  return (list.length > 0 ? list : ['mesh']).map(name => qualifiedGateway(name, where))
}

/** One HTTPMatchRequest: every condition it sets must hold; its `gateways` replace the VirtualService's. */
export function httpMatchPredicate(
  match: Json,
  where = 'default',
  entry: EntryPoint = MESH
): RequestPredicate {
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
  if (match.gateways !== undefined && !gatewaysOf(match.gateways, where).includes(entry.gateway))
    checks.push(() => false)
  return request => checks.every(check => check(request))
}

/** Subset name -> version label value, from the DestinationRules of the service. */
export function subsetVersions(
  destinationRules: Json[],
  options: VirtualServiceOptions
): Map<string, string> {
  const versions = new Map<string, string>()
  const versionLabel = options.versionLabel ?? 'version'
  for (const rule of destinationRules) {
    const spec = asObject(rule.spec)
    const where = String(asObject(rule.metadata).namespace ?? 'default')
    if (!namesService(spec.host, options.service, options.namespace, where)) continue
    for (const subset of asArray(spec.subsets)) {
      const { name, labels } = asObject(subset)
      const version = asObject(labels)[versionLabel]
      if (typeof name === 'string' && typeof version === 'string') versions.set(name, version)
    }
  }
  return versions
}

/** `set-cookie` values a `headers` block (route or destination) adds to responses. */
function responseCookies(headers: unknown): string[] {
  const response = asObject(asObject(headers).response)
  return [response.set, response.add].flatMap(operations =>
    Object.entries(asObject(operations))
      .filter(([name, value]) => name.toLowerCase() === 'set-cookie' && typeof value === 'string')
      .map(([, value]) => value as string)
  )
}

/** Whether this VirtualService is the one the entry point routes the service's requests by. */
export function appliesAt(virtualService: Json, options: VirtualServiceOptions): boolean {
  const spec = asObject(virtualService.spec)
  const where = String(asObject(virtualService.metadata).namespace ?? 'default')
  const entry = options.entry ?? MESH
  if (!gatewaysOf(spec.gateways, where).includes(entry.gateway)) return false
  return asArray(spec.hosts).some(host =>
    entry.host === undefined
      ? namesService(host, options.service, options.namespace, where)
      : host === entry.host || host === '*'
  )
}

/** The routing table of one VirtualService, as the entry point's proxy runs it. */
export function compileVirtualService(
  virtualService: Json,
  destinationRules: Json[],
  options: VirtualServiceOptions
): RoutingTable {
  const where = String(asObject(virtualService.metadata).namespace ?? 'default')
  const subsets = subsetVersions(destinationRules, options)
  const toTarget = (destination: Json): Target => {
    const host = String(destination.host ?? '')
    if (!namesService(host, options.service, options.namespace, where)) return { other: host }
    const subset = destination.subset
    if (typeof subset !== 'string') return { other: `${host} (no subset: every version)` }
    const version = subsets.get(subset)
    return version ? { version } : { other: `${host} subset ${subset} (not in a DestinationRule)` }
  }
  const routes = asArray(asObject(virtualService.spec).http).map((entry, index): CompiledRoute => {
    const route = asObject(entry)
    const name = typeof route.name === 'string' ? route.name : `#${index + 1}`
    const matches = asArray(route.match).map(match =>
      httpMatchPredicate(asObject(match), where, options.entry)
    )
    const routeCookies = responseCookies(route.headers)
    const destinations = asArray(route.route).map(asObject)
    const targets: WeightedTarget[] =
      destinations.length > 0
        ? destinations.map(destination => {
            const weight =
              typeof destination.weight === 'number'
                ? destination.weight
                : destinations.length === 1
                  ? 100
                  : 0
            const setCookies = [...routeCookies, ...responseCookies(destination.headers)]
            return {
              target: toTarget(asObject(destination.destination)),
              weight,
              ...(setCookies.length > 0 && { setCookies })
            }
          })
        : [{ target: { other: route.redirect ? 'redirect' : 'direct response' }, weight: 100 }]
    const compiled: CompiledRoute = { name, matches, targets }
    if (isObject(route.mirror)) {
      const percentage = asObject(route.mirrorPercentage).value
      compiled.mirror = {
        targets: [{ target: toTarget(route.mirror), weight: 1 }],
        percent: typeof percentage === 'number' ? percentage : 100
      }
    }
    return compiled
  })
  return {
    kind: 'VirtualService',
    sources: [`VirtualService ${objectName(virtualService)}`],
    routes,
    fallback: [],
    fingerprint: fingerprintOf([virtualService, ...destinationRules])
  }
}
