/** Routing objects and plans the bench measures: Bookinfo `reviews`, and VirtualServices with many routes. */
import type { KubeObject } from '../testkit/kube-api/index.js'
import { reviewsVirtualService } from '../testkit/bookinfo.js'

export const NETWORKING = 'networking.istio.io/v1'
export const SHIFTED_ROUTE = 'reviews-route'

export type HttpRoute = Record<string, unknown> & { name?: string; route?: Destination[] }
export interface Destination {
  destination: { host: string; subset?: string; port?: { number: number } }
  weight?: number
}

/** One unrelated route, different from every other so a misplaced edit cannot go unnoticed. */
function unrelatedRoute(i: number): HttpRoute {
  return {
    name: `other-${i}`,
    match: [{ uri: { prefix: `/other-${i}` } }, { headers: { 'x-tenant': { exact: `t${i}` } } }],
    timeout: `${(i % 9) + 1}s`,
    retries: { attempts: (i % 3) + 1, perTryTimeout: '1s' },
    route: [{ destination: { host: `other-${i}`, subset: 'v1', port: { number: 8000 + (i % 1000) } } }]
  }
}

/**
 * A VirtualService with `routes` http routes: the `reviews` route (shifted by the plan) in the middle, the others
 * unrelated. `routes` = 1 gives the shifted route alone.
 */
export function virtualServiceWithRoutes(routes: number, namespace = 'default'): KubeObject {
  if (!Number.isInteger(routes) || routes < 1)
    throw new Error(`routes must be a positive integer, got ${routes}`)
  const http: HttpRoute[] = []
  const at = Math.floor((routes - 1) / 2)
  for (let i = 0, other = 0; i < routes; i++) {
    http.push(
      i === at
        ? {
            name: SHIFTED_ROUTE,
            match: [{ uri: { prefix: '/reviews' } }],
            retries: { attempts: 3, perTryTimeout: '2s' },
            route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }]
          }
        : unrelatedRoute(other++)
    )
  }
  return {
    apiVersion: NETWORKING,
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace },
    spec: { hosts: ['reviews', 'bookinfo.example.com'], gateways: ['bookinfo-gateway', 'mesh'], http }
  }
}

/** The Bookinfo VirtualService (the ratings route, the reviews route and a tcp route), or one with `routes` routes. */
export function routingObject(routes?: number): KubeObject {
  return routes === undefined ? reviewsVirtualService() : virtualServiceWithRoutes(routes)
}

const WEIGHT_STAGES = `stages:
  - weight: 5
  - weight: 50
  - weight: 100`

/** Stage 1 is "5%", stage 2 "50%": nothing to watch, so each advance passes at once. */
export const TRANSITION_PLAN = `service: reviews
stable: v1
canary: v2
${WEIGHT_STAGES}
analysis:
  bake: 0s
`

/** The same ladder with an `http` check against `url`, evaluated every second; one failure rolls back. */
export function rollbackPlan(url: string): string {
  return `service: reviews
stable: v1
canary: v2
${WEIGHT_STAGES}
analysis:
  interval: 1s
  bake: 1m
  failureLimit: 1
  checks:
    - name: smoke
      http:
        url: ${url}
        expectStatus: [200]
        timeout: 2s
`
}

/** The same ladder with a `kubernetes` check, evaluated `evaluations` times, every 500 ms. */
export function watchPlan(evaluations: number): string {
  return `service: reviews
stable: v1
canary: v2
${WEIGHT_STAGES}
analysis:
  interval: 500ms
  bake: ${evaluations * 500}ms
  failureLimit: 1
  checks:
    - name: canary-pods
      kubernetes: { maxRestarts: 0 }
`
}

export function httpRoutes(object: KubeObject | undefined): HttpRoute[] {
  const spec = object?.spec as { http?: HttpRoute[] } | undefined
  return spec?.http ?? []
}

function isReviews(host: string): boolean {
  return host === 'reviews' || host.startsWith('reviews.')
}

/** Whether a route sends traffic to the reviews service. */
export function isShifted(route: HttpRoute): boolean {
  return (route.route ?? []).some(d => isReviews(d.destination.host))
}

/** Every route the plan must not touch, in order. */
export function unrelatedRoutes(object: KubeObject | undefined): HttpRoute[] {
  return httpRoutes(object).filter(route => !isShifted(route))
}

/**
 * What a hand-written script computes for the weight stage: the shifted routes send `100 - weight` to the
 * stable subset and `weight` to the canary; everything else is copied as read.
 */
export function shiftedHttp(http: HttpRoute[], weight: number, stable = 'v1', canary = 'v2'): HttpRoute[] {
  return http.map(route => {
    if (!isShifted(route)) return route
    const first = (route.route ?? []).find(d => isReviews(d.destination.host))!
    const destination = (subset: string) => ({ ...first.destination, subset })
    return {
      ...route,
      route: [
        { destination: destination(stable), weight: 100 - weight },
        { destination: destination(canary), weight }
      ]
    }
  })
}

/** Whether the routing is back on the stable version alone (no canary destination left). */
export function routedToStableOnly(object: KubeObject | undefined, canary = 'v2'): boolean {
  const shifted = httpRoutes(object).filter(isShifted)
  return (
    shifted.length > 0 &&
    shifted.every(route => (route.route ?? []).every(d => d.destination.subset !== canary))
  )
}
