/** Shared pieces of the reliability tests: reading the routing and its state, seeding a captured state. */
import type { KubeApi, KubeObject, RecordedRequest } from '../../testkit/kube-api/index.js'
import type { ActionResult } from '../../testkit/run-action.js'
import { INGRESS } from '../../testkit/bookinfo.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import {
  changedSince,
  decodeState,
  decodeTarget,
  digestsOf,
  type ReleaseState
} from '../../src/engine/state.js'
import { ROUTERS } from '../../src/routers/registry.js'
import type { RoutingSpecs } from '../../src/routers/router.js'

const REVIEWS = { service: 'reviews', namespace: 'default' }

export const NETWORKING = 'networking.istio.io/v1'
export const ROUTE_RULE_API = 'config.istio.io/v1alpha2'
export type RouterKind = 'VirtualService' | 'RouteRule'

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete'])

/** Every request that asked to change something, whatever its answer (failed and dry-run writes included). */
export function writeRequests(api: KubeApi): RecordedRequest[] {
  return api.requests.filter(request => WRITE_VERBS.has(request.verb) || request.method !== 'GET')
}

export function routingObjects(api: KubeApi, router: RouterKind): KubeObject[] {
  if (router === 'RouteRule') return api.list(ROUTE_RULE_API, 'RouteRule', 'default')
  const ingress = api.get(NETWORKING, 'VirtualService', INGRESS.namespace, INGRESS.name)
  return [
    ...api.list(NETWORKING, 'VirtualService', 'default').filter(o => o.metadata.name === 'reviews'),
    ...(ingress ? [ingress] : [])
  ]
}

export function primaryName(router: RouterKind): string {
  return router === 'VirtualService' ? 'reviews' : 'reviews-default'
}

/** The routing as a map of object name to spec (objects that do not exist are absent). */
export function routingSpecs(api: KubeApi, router: RouterKind): RoutingSpecs {
  return Object.fromEntries(
    routingObjects(api, router)
      .map(o => [o.metadata.name, o.spec as RoutingSpecs[string]] as const)
      .sort(([a], [b]) => a.localeCompare(b))
  )
}

function primaryAnnotations(api: KubeApi, router: RouterKind): Record<string, string> | undefined {
  const primary = routingObjects(api, router).find(o => o.metadata.name === primaryName(router))
  return primary?.metadata.annotations as Record<string, string> | undefined
}

export function releaseState(api: KubeApi, router: RouterKind): ReleaseState | undefined {
  return decodeState(primaryAnnotations(api, router), REVIEWS)
}

/** Objects the state says were written one way and now are another (the product's own drift test). */
export function drift(api: KubeApi, router: RouterKind, planYaml: string): string[] {
  const state = releaseState(api, router)
  const target = decodeTarget(primaryAnnotations(api, router), REVIEWS)
  if (!state || !target) return []
  const plan = parsePlan(planYaml)
  const byName = routingSpecs(api, router)
  const current: RoutingSpecs = Object.fromEntries(
    Object.keys(state.written).map(key => [key, byName[key.split('/')[1]] ?? null])
  )
  const parts = ROUTERS[router].parts(current, target, plan)
  const now = digestsOf(Object.fromEntries(Object.entries(parts).map(([key, part]) => [key, part.managed])))
  return changedSince(state.written, state.previous, now)
}

/** VirtualService routes to the reviews host whose subset the DestinationRule does not define. */
export function unknownSubsets(api: KubeApi): string[] {
  const vs = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')
  const dr = api.get(NETWORKING, 'DestinationRule', 'default', 'reviews')
  const defined = new Set(
    ((dr?.spec as { subsets?: { name: string }[] } | undefined)?.subsets ?? []).map(s => s.name)
  )
  const http = ((vs?.spec as { http?: { route?: { destination: { host: string; subset?: string } }[] }[] })
    ?.http ?? []) as { route?: { destination: { host: string; subset?: string } }[] }[]
  return http
    .flatMap(route => route.route ?? [])
    .map(r => r.destination)
    .filter(d => d.host.startsWith('reviews') && d.subset !== undefined && !defined.has(d.subset))
    .map(d => d.subset as string)
}

/** A captured object without the server-assigned fields, ready to seed into another API double. */
export function forSeed(object: KubeObject): KubeObject {
  const { resourceVersion, uid, creationTimestamp, generation, managedFields, ...metadata } =
    object.metadata as Record<string, unknown>
  void resourceVersion
  void uid
  void creationTimestamp
  void generation
  void managedFields
  const copy = structuredClone(object)
  delete (copy as { status?: unknown }).status
  return { ...copy, metadata: metadata as KubeObject['metadata'] }
}

export function errorLines(result: ActionResult): string[] {
  return result.annotations.filter(a => a.kind === 'error').map(a => a.message)
}

/** A line of a JavaScript stack trace (a user should never see one). */
export const STACK_FRAME = /^\s+at .*:\d+:\d+\)?$/m

export function hasStackTrace(result: ActionResult): boolean {
  return STACK_FRAME.test(result.stdout)
}

export function describeRun(result: ActionResult): string {
  return `exit ${result.exitCode}; outputs ${JSON.stringify(result.outputs)}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-1500)}`
}
