/**
 * The traffic simulator's routing: from the objects in the cluster, the table the proxies at one entry point (the
 * mesh's sidecars, or an ingress gateway) would run for the service, compiled by the evaluator of its API
 * (virtual-service-routing.ts, route-rule-routing.ts, http-route-routing.ts; the table in route-table.ts).
 */
import { compileHttpRoutes, type Workload } from './http-route-routing.js'
import type { RouterKind } from './plans.js'
import { compileRouteRules } from './route-rule-routing.js'
import type { Json, RoutingTable } from './route-table.js'
import { appliesAt, compileVirtualService, MESH, type EntryPoint } from './virtual-service-routing.js'

export interface RoutingObjects {
  virtualServices: Json[]
  destinationRules: Json[]
  routeRules: Json[]
  httpRoutes?: Json[]
  /** Services and the pods of each Deployment: what an HTTPRoute's backendRefs resolve to. */
  services?: Json[]
  workloads?: Workload[]
  /** Versions that have a Deployment: where traffic goes when no routing object exists at all. */
  deployedVersions: string[]
}

export interface CompileOptions {
  service: string
  namespace: string
  versionLabel?: string
  /** Which routing to evaluate; default: a VirtualService for the service when there is one, else RouteRules. */
  router?: RouterKind
  /** Where the requests enter; default: the mesh. */
  entry?: EntryPoint
}

/** No routing for the service: from the mesh, its Service balances over every pod; a gateway has no route. */
function unrouted(objects: RoutingObjects, entry: EntryPoint): RoutingTable {
  const fallback = entry.gateway === 'mesh' ? objects.deployedVersions.map(version => ({ version })) : []
  return { kind: 'none', sources: [], routes: [], fallback, fingerprint: JSON.stringify(fallback) }
}

/** The table the proxies at the entry point would run with, given the objects in the cluster. */
export function compileRouting(objects: RoutingObjects, options: CompileOptions): RoutingTable {
  const entry = options.entry ?? MESH
  const settings = { ...options, entry }
  const virtualService = objects.virtualServices.find(object => appliesAt(object, settings))
  const router = options.router ?? (virtualService ? 'VirtualService' : 'RouteRule')
  if (router === 'HTTPRoute') {
    const table = compileHttpRoutes(objects.httpRoutes ?? [], {
      ...settings,
      services: objects.services ?? [],
      workloads: objects.workloads ?? []
    })
    return table.sources.length > 0 ? table : unrouted(objects, entry)
  }
  if (router === 'RouteRule') return compileRouteRules(objects.routeRules, objects.deployedVersions, options)
  if (virtualService) return compileVirtualService(virtualService, objects.destinationRules, settings)
  return unrouted(objects, entry)
}
