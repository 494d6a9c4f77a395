/** The plans the demo releases with: short analysis windows so a whole release takes seconds. */
import { stringify } from 'yaml'
import { INGRESS_GATEWAY } from '../testkit/bookinfo.js'

export type RouterKind = 'VirtualService' | 'RouteRule' | 'HTTPRoute'

export const ROUTERS: readonly RouterKind[] = ['VirtualService', 'RouteRule', 'HTTPRoute']

export const TEST_USER_REGEX = '^(.*?;)?(user=test-user)(;.*)?$'

/** The sticky canary's cookie, as the plan sets it (the action's defaults, written out to be seen). */
export const STICKY_COOKIE = 'istio-canary'

/** Share of requests the mirror stage copies to the canary. */
export const MIRROR_PERCENT = 50

export interface DemoPlanOptions {
  router: RouterKind
  stable: string
  canary: string
  /** Start the ladder with the stages no user is served by: the test-user match and, but on RouteRules, a mirror. */
  preview: boolean
  /** How long each stage is watched; default 3. */
  bakeSeconds?: number
  /** Base URL of a Prometheus server; without one, the success rate is read over HTTP from the simulator. */
  prometheusUrl?: string
  simulatorUrl: string
}

/** The weighted stages: the modern ladder on a VirtualService or HTTPRoute, the Istio 0.2 tutorial's on RouteRules. */
export function weights(router: RouterKind): number[] {
  return router === 'RouteRule' ? [50, 100] : [5, 20, 50, 100]
}

/**
 * The routing the release moves: with a VirtualService, the mesh's and the ingress gateway's (only its reviews
 * route); with an HTTPRoute, the mesh route and each version's Service; RouteRules by the service's name.
 */
function routing(options: DemoPlanOptions): Record<string, unknown> {
  if (options.router === 'VirtualService') {
    const namespace = INGRESS_GATEWAY.split('/')[0]
    return { routing: [{ name: 'reviews' }, { name: 'bookinfo', namespace, route: 'reviews-ingress' }] }
  }
  if (options.router === 'HTTPRoute') {
    const backends = Object.fromEntries(
      [options.stable, options.canary].map(version => [version, `reviews-${version}`])
    )
    return { routing: { name: 'reviews', backends, acceptTimeout: '10s' } }
  }
  return {}
}

function stages(options: DemoPlanOptions): Record<string, unknown>[] {
  const preview = options.preview
    ? [
        { name: 'test-user', match: { headers: { cookie: { regex: TEST_USER_REGEX } } } },
        // RouteRule mirrors all or nothing; the Istio 0.2 tutorial's ladder has no mirror.
        ...(options.router === 'RouteRule' ? [] : [{ name: 'shadow', mirror: MIRROR_PERCENT }])
      ]
    : []
  return [
    ...preview,
    ...weights(options.router).map(weight => ({ weight })),
    { finalize: { deleteStable: true } }
  ]
}

export function demoPlan(options: DemoPlanOptions): Record<string, unknown> {
  const successRate = options.prometheusUrl
    ? {
        name: 'success-rate',
        prometheus: { url: options.prometheusUrl, template: 'success-rate', min: 0.95 }
      }
    : {
        name: 'success-rate',
        http: {
          url: `${options.simulatorUrl}/health/${options.canary}?min=0.95`,
          expectStatus: [200],
          timeout: '2s'
        }
      }
  return {
    service: 'reviews',
    namespace: 'default',
    router: options.router,
    ...routing(options),
    stable: options.stable,
    canary: options.canary,
    // RouteRule cannot set a response cookie.
    ...(options.router !== 'RouteRule' && {
      sessionAffinity: { cookieName: STICKY_COOKIE, maxAge: '24h' }
    }),
    stages: stages(options),
    analysis: {
      interval: '1s',
      bake: `${options.bakeSeconds ?? 3}s`,
      failureLimit: 1,
      // A fresh canary has no samples until Prometheus has scraped it twice (about 2s at a 1s scrape
      // interval); with a 1s evaluation interval those first rounds are skipped instead of failing the stage.
      onNoData: 'ignore',
      onCancel: 'rollback',
      checks: [
        successRate,
        {
          name: 'smoke',
          http: {
            url: `${options.simulatorUrl}/productpage`,
            headers: { cookie: 'user=test-user' },
            expectStatus: [200],
            expectBody: 'Book Reviews',
            timeout: '2s'
          }
        },
        { name: 'canary-pods', kubernetes: { maxRestarts: 0 } }
      ]
    }
  }
}

export function planYaml(plan: Record<string, unknown>): string {
  return stringify(plan, { lineWidth: 0 })
}
