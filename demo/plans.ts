/** The plans the demo releases with: short analysis windows so a whole release takes seconds. */
import { stringify } from 'yaml'

export type RouterKind = 'VirtualService' | 'RouteRule'

export const TEST_USER_REGEX = '^(.*?;)?(user=test-user)(;.*)?$'

export interface DemoPlanOptions {
  router: RouterKind
  stable: string
  canary: string
  /** Start the ladder with the test-user stage. */
  testUser: boolean
  /** How long each stage is watched; default 3. */
  bakeSeconds?: number
  /** Base URL of a Prometheus server; without one, the success rate is read over HTTP from the simulator. */
  prometheusUrl?: string
  simulatorUrl: string
}

/** The weighted stages: the modern ladder on a VirtualService, the Istio 0.2 tutorial's on RouteRules. */
export function weights(router: RouterKind): number[] {
  return router === 'RouteRule' ? [50, 100] : [5, 20, 50, 100]
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
    stable: options.stable,
    canary: options.canary,
    stages: [
      ...(options.testUser
        ? [{ name: 'test-user', match: { headers: { cookie: { regex: TEST_USER_REGEX } } } }]
        : []),
      ...weights(options.router).map(weight => ({ weight })),
      { finalize: { deleteStable: true } }
    ],
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
