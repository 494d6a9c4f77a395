/**
 * The routing the action writes for the demo's plans, stage by stage, as the traffic simulator evaluates it: what
 * each stage claims (test users on the canary, a mirror's copies, a weight, a sticky cookie that pins only users
 * of this revision, all on the canary at the end) is what requests get, at every entry point. This is what makes
 * the demo's output evidence: the simulator reads exactly what the routers write.
 */
import { describe, expect, it } from '@jest/globals'
import type { Workload } from '../../demo/http-route-routing.js'
import {
  demoPlan,
  MIRROR_PERCENT,
  planYaml,
  STICKY_COOKIE,
  weights,
  type RouterKind
} from '../../demo/plans.js'
import { routeRequest, targetLabel, type Json, type RoutingTable } from '../../demo/route-table.js'
import { compileRouting, type RoutingObjects } from '../../demo/routing.js'
import { MESH, type EntryPoint } from '../../demo/virtual-service-routing.js'
import type { JsonObject } from '../../src/common/json.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { routerFor } from '../../src/routers/registry.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import {
  bookinfoObjects,
  INGRESS_GATEWAY,
  INGRESS_HOST,
  ingressVirtualService
} from '../../testkit/bookinfo.js'
import type { KubeObject } from '../../testkit/kube-api/index.js'
import { createRandom } from '../../testkit/random.js'

const SET_COOKIE = `${STICKY_COOKIE}=v2; Max-Age=86400; Path=/`
const REQUESTS = 4000

interface Entry {
  entry: EntryPoint
  path: string
}
const ENTRIES: Record<string, Entry> = {
  mesh: { entry: MESH, path: '/reviews/1' },
  ingress: { entry: { gateway: INGRESS_GATEWAY, host: INGRESS_HOST }, path: '/api/v1/reviews/1' }
}

/** The seeded objects, and the routing objects (by `namespace/name`) a release of the router manages. */
function cluster(router: RouterKind): { seeded: KubeObject[]; managed: KubeObject[] } {
  const seeded = bookinfoObjects({ versions: ['v1', 'v2'], router })
  const managed = seeded.filter(object => object.kind === router)
  return router === 'VirtualService'
    ? { seeded, managed: [...managed, ingressVirtualService()] }
    : { seeded, managed }
}

const keyOf = (object: KubeObject) => `${object.metadata.namespace}/${object.metadata.name}`

function routingObjects(
  router: RouterKind,
  seeded: KubeObject[],
  managed: KubeObject[],
  specs: RoutingSpecs
): RoutingObjects {
  const written = managed.map(object => ({ ...object, spec: specs[keyOf(object)] })) as unknown as Json[]
  const workloads: Workload[] = seeded
    .filter(object => object.kind === 'Deployment')
    .map(object => ({
      namespace: 'default',
      labels: { ...(object.metadata.labels as Record<string, string>) },
      replicas: 1
    }))
  return {
    virtualServices: router === 'VirtualService' ? written : [],
    destinationRules: seeded.filter(object => object.kind === 'DestinationRule') as unknown as Json[],
    routeRules: [],
    httpRoutes: router === 'HTTPRoute' ? written : [],
    services: seeded.filter(object => object.kind === 'Service') as unknown as Json[],
    workloads,
    deployedVersions: ['v1', 'v2']
  }
}

interface Observed {
  /** Share of requests served by each version. */
  served: Record<string, number>
  /** Share of requests copied to each version by a mirror. */
  copied: Record<string, number>
  /** The Set-Cookie values responses carried, by the version that answered. */
  cookies: Record<string, string[]>
}

function observe(table: RoutingTable, path: string, cookie: string | undefined, seed: number): Observed {
  const random = createRandom(seed).uniform
  const served: Record<string, number> = {}
  const copied: Record<string, number> = {}
  const cookies: Record<string, Set<string>> = {}
  const count = (counts: Record<string, number>, label: string) => (counts[label] = (counts[label] ?? 0) + 1)
  for (let i = 0; i < REQUESTS; i++) {
    const result = routeRequest(table, { path, method: 'GET', headers: cookie ? { cookie } : {} }, random)
    const label = targetLabel(result)
    count(served, label)
    if (result.mirror) count(copied, targetLabel({ target: result.mirror }))
    for (const value of result.setCookies ?? []) (cookies[label] ??= new Set()).add(value)
  }
  const shares = (counts: Record<string, number>) =>
    Object.fromEntries(Object.entries(counts).map(([label, n]) => [label, n / REQUESTS]))
  return {
    served: shares(served),
    copied: shares(copied),
    cookies: Object.fromEntries(Object.entries(cookies).map(([label, values]) => [label, [...values]]))
  }
}

const near = (actual: number | undefined, expected: number, tolerance = 0.025) =>
  expect(Math.abs((actual ?? 0) - expected)).toBeLessThan(tolerance)

describe.each(['VirtualService', 'HTTPRoute'] as const)(
  "the demo's %s plan, as the simulator routes it",
  router => {
    const plan = parsePlan(
      planYaml(
        demoPlan({ router, stable: 'v1', canary: 'v2', preview: true, simulatorUrl: 'http://127.0.0.1:9' })
      )
    )
    const definition = routerFor(router)
    const { seeded, managed } = cluster(router)
    const current = Object.fromEntries(managed.map(object => [keyOf(object), object.spec as JsonObject]))
    const target = definition.pin(current, plan)
    const entries = router === 'VirtualService' ? ['mesh', 'ingress'] : ['mesh']
    const ladder = ['pin', ...plan.stages.map(stage => stage.name)]

    it('names the stages the demo prints', () => {
      const weighted = weights(router).map(weight => `${weight}%`)
      expect(ladder).toEqual(['pin', 'test-user', 'shadow', ...weighted, 'finalize'])
    })

    it.each(entries)('at the %s entry point, every stage routes requests as it claims', entryName => {
      const { entry, path } = ENTRIES[entryName]
      ladder.forEach((name, index) => {
        const specs = definition.stage(target, target, plan, index, 'v2')
        const table = compileRouting(routingObjects(router, seeded, managed, specs), {
          service: 'reviews',
          namespace: 'default',
          router,
          entry
        })
        const plain = observe(table, path, 'session=7', index)
        const testUser = observe(table, path, 'user=test-user', index)
        const sticky = observe(table, path, `session=7; ${STICKY_COOKIE}=v2`, index)
        const otherRevision = observe(table, path, `session=7; ${STICKY_COOKIE}=v3`, index)
        const stage = plan.stages[index - 1]
        const context = `${router} ${entryName} at stage ${name}`
        if (!stage) {
          expect({ context, ...plain }).toEqual({ context, served: { v1: 1 }, copied: {}, cookies: {} })
          expect(testUser.served).toEqual({ v1: 1 })
          return
        }
        // The test-user stage is in effect until the end: test users are on the canary, never copied.
        expect({ context, served: testUser.served, copied: testUser.copied }).toEqual({
          context,
          served: { v2: 1 },
          copied: {}
        })
        if (stage.kind === 'match')
          expect({ context, ...plain }).toEqual({ context, served: { v1: 1 }, copied: {}, cookies: {} })
        if (stage.kind === 'mirror') {
          expect({ context, served: plain.served, cookies: plain.cookies }).toEqual({
            context,
            served: { v1: 1 },
            cookies: {}
          })
          expect(Object.keys(plain.copied)).toEqual(['v2'])
          near(plain.copied.v2, MIRROR_PERCENT / 100, 0.03)
        }
        if (stage.kind === 'weight' && stage.weight < 100) {
          near(plain.served.v2, stage.weight / 100)
          expect({ context, copied: plain.copied, cookies: plain.cookies }).toEqual({
            context,
            copied: {},
            cookies: { v2: [SET_COOKIE] }
          })
          // The cookie of this revision pins a user to it; another revision's does not.
          expect({ context, served: sticky.served }).toEqual({ context, served: { v2: 1 } })
          near(otherRevision.served.v2, stage.weight / 100)
        }
        if (stage.kind === 'finalize' || (stage.kind === 'weight' && stage.weight === 100)) {
          for (const observed of [plain, sticky, otherRevision])
            expect({ context, ...observed }).toEqual({ context, served: { v2: 1 }, copied: {}, cookies: {} })
        }
      })
    })
  }
)
