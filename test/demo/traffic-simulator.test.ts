/**
 * The traffic simulator: its endpoints, its users' cookies (a sticky canary's cookie comes back on their later
 * requests, in a Cookie header the action's own match accepts), mirrored copies counted apart from what users
 * were served, and each entry point routed by its own VirtualService.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { re2FullMatch, type Json } from '../../demo/route-table.js'
import type { Segment } from '../../demo/segments.js'
import { startTrafficSimulator, type TrafficSimulator } from '../../demo/traffic-simulator.js'
import { cookieHeader, createUsers, storeCookie, TEST_USER_COOKIE } from '../../demo/users.js'
import { MESH } from '../../demo/virtual-service-routing.js'
import { stickyCookieMatch } from '../../src/routers/sticky.js'
import { INGRESS_GATEWAY, INGRESS_HOST, reviewsDestinationRule } from '../../testkit/bookinfo.js'

const OPTIONS = { service: 'reviews', namespace: 'default' }
const TEST_USER = { regex: '^(.*?;)?(user=test-user)(;.*)?$' }
const DEST = { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } }
const DESTINATION_RULES = [reviewsDestinationRule() as unknown as Json]
const AFFINITY = { cookieName: 'istio-canary', maxAgeSeconds: 86_400 }
const SET_COOKIE = 'istio-canary=v2; Max-Age=86400; Path=/'

function virtualService(http: Json[], name = 'reviews', namespace = 'default', extra: Json = {}): Json {
  return { metadata: { name, namespace }, spec: { hosts: ['reviews'], http, ...extra } }
}

const destination = (subset: string, weight?: number, more: Json = {}): Json => ({
  destination: { ...DEST, subset },
  ...(weight !== undefined && { weight }),
  ...more
})

function objects(virtualServices: Json[]) {
  return {
    virtualServices,
    destinationRules: DESTINATION_RULES,
    routeRules: [],
    deployedVersions: ['v1', 'v2', 'v3']
  }
}

const BACKENDS = {
  v1: { errorRate: 0, latencyMs: 10 },
  v2: { errorRate: 0, latencyMs: 10 }
}

let simulator: TrafficSimulator | undefined
afterEach(async () => {
  await simulator?.close()
  simulator = undefined
})

/** Resolves with the segment since `mark` once `ready` holds for it (polls every 20 ms, fails after 10 s). */
async function segmentWhen(mark: number, ready: (segment: Segment) => boolean): Promise<Segment> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const segment = simulator!.segmentsSince(mark).at(-1)
    if (segment && ready(segment)) return segment
    if (Date.now() > deadline) throw new Error(`segment never ready: ${JSON.stringify(segment)}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

const requests = (tallies: Record<string, { requests: number }>) =>
  Object.values(tallies).reduce((sum, tally) => sum + tally.requests, 0)

describe('simulated users', () => {
  it("send back the cookie a response set, in a Cookie header the action's sticky match accepts", () => {
    const sticky = (revision: string, header = '') =>
      re2FullMatch(stickyCookieMatch(AFFINITY, revision), header)
    const users = createUsers(30, 0.2, [1], Math.random)
    const now = 1_000_000
    for (const user of users) {
      expect(sticky('v2', cookieHeader(user, now))).toBe(false)
      storeCookie(user, SET_COOKIE, now)
      const header = cookieHeader(user, now)!
      expect(sticky('v2', header)).toBe(true)
      expect(sticky('v3', header)).toBe(false)
      if (user.testUser) expect(re2FullMatch(TEST_USER.regex, header)).toBe(true)
    }
    expect(users.filter(user => user.testUser).length).toBeGreaterThan(0)
  })

  it('drop a cookie once its Max-Age has passed, and at once for Max-Age=0', () => {
    const [user] = createUsers(1, 0, [1], () => 0.5)
    expect(user.id % 3).toBe(0) // sends no cookie of its own
    storeCookie(user, 'istio-canary=v2; Max-Age=10; Path=/', 0)
    expect(cookieHeader(user, 9_999)).toBe('istio-canary=v2')
    expect(cookieHeader(user, 10_000)).toBeUndefined()
    storeCookie(user, 'istio-canary=v2', 0)
    storeCookie(user, 'a=1; Path=/', 0)
    expect(cookieHeader(user, 1e12)).toBe('istio-canary=v2; a=1')
    storeCookie(user, 'istio-canary=v3; Max-Age=0', 5)
    expect(cookieHeader(user, 5)).toBe('a=1')
    expect(cookieHeader({ ...user, testUser: true }, 5)).toBe(`${TEST_USER_COOKIE}; a=1`)
  })
})

describe('traffic simulator', () => {
  it('serves the product page through the routing and a per-version health page', async () => {
    const vs = virtualService([
      { name: 'test-user', match: [{ headers: { cookie: TEST_USER } }], route: [destination('v3')] },
      { name: 'reviews-route', route: [destination('v1', 100), destination('v2', 0)] }
    ])
    simulator = await startTrafficSimulator({
      ...OPTIONS,
      readRouting: () => ({ ...objects([vs]), deployedVersions: ['v1', 'v3'] }),
      backends: { v1: { errorRate: 0, latencyMs: 10 }, v3: { errorRate: 1, latencyMs: 10 } },
      rps: 500,
      tickMs: 50
    })
    const healthy = await fetch(`${simulator.url}/productpage`)
    expect(healthy.status).toBe(200)
    expect(healthy.headers.get('x-reviews-version')).toBe('v1')
    expect(await healthy.text()).toContain('Book Reviews')
    const failing = await fetch(`${simulator.url}/productpage`, { headers: { cookie: 'user=test-user' } })
    expect(failing.status).toBe(500)
    expect(failing.headers.get('x-reviews-version')).toBe('v3')
    await failing.text()

    const segment = await segmentWhen(simulator.mark(), s => requests(s.entries.mesh.testUser) >= 10)
    expect(Object.keys(segment.entries.mesh.users)).toEqual(['v1'])
    expect(segment.entries.mesh.testUser.v3.errors).toBe(segment.entries.mesh.testUser.v3.requests)
    const v1 = await fetch(`${simulator.url}/health/v1?min=0.99`)
    expect(v1.status).toBe(200)
    expect(await v1.text()).toMatch(/v1: success rate 1\.000/)
    const v3 = await fetch(`${simulator.url}/health/v3`)
    expect(v3.status).toBe(503)
    expect(await v3.text()).toMatch(/v3: success rate 0\.000/)
  })

  it('keeps users whom the canary answered on the canary while their cookie is routed (a sticky canary)', async () => {
    const cookie = { regex: stickyCookieMatch(AFFINITY, 'v2') }
    const vs = virtualService([
      { name: 'reviews-route-sticky', match: [{ headers: { cookie } }], route: [destination('v2')] },
      {
        name: 'reviews-route',
        route: [
          destination('v1', 80),
          destination('v2', 20, { headers: { response: { add: { 'set-cookie': SET_COOKIE } } } })
        ]
      }
    ])
    simulator = await startTrafficSimulator({
      ...OPTIONS,
      readRouting: () => objects([vs]),
      backends: BACKENDS,
      users: 100,
      rps: 2000,
      tickMs: 20
    })
    const segment = await segmentWhen(
      simulator.mark(),
      s => (s.sticky['istio-canary=v2']?.users ?? 0) >= 20 && requests(s.unpinned) >= 200
    )
    // Every request that carried the cookie was served by v2, and only v2 set it.
    expect(Object.keys(segment.sticky['istio-canary=v2'].served)).toEqual(['v2'])
    expect(Object.keys(segment.cookiesSet)).toEqual(['istio-canary=v2'])
    // Users without it are split by the weights.
    const unpinnedV2 = segment.unpinned.v2.requests / requests(segment.unpinned)
    expect(unpinnedV2).toBeGreaterThan(0.1)
    expect(unpinnedV2).toBeLessThan(0.3)
    // Test users are counted apart: their cookie is their own, not the routing's.
    expect(requests(segment.entries.mesh.testUser)).toBeGreaterThan(0)
  })

  it('counts mirrored copies apart from what users were served, and routes each entry point by its own VirtualService', async () => {
    const mesh = virtualService(
      [
        {
          name: 'reviews-route',
          route: [destination('v1')],
          mirror: { host: DEST.host, subset: 'v2' },
          mirrorPercentage: { value: 50 }
        }
      ],
      'reviews',
      'default',
      { gateways: ['mesh'] }
    )
    const ingress = virtualService(
      [{ name: 'reviews-ingress', route: [destination('v2')] }],
      'bookinfo',
      'istio-ingress',
      {
        hosts: [INGRESS_HOST],
        gateways: [INGRESS_GATEWAY]
      }
    )
    simulator = await startTrafficSimulator({
      ...OPTIONS,
      readRouting: () => objects([mesh, ingress]),
      entries: [
        { name: 'mesh', entry: MESH, authority: 'reviews:9080', pathPrefix: '/reviews', share: 0.5 },
        {
          name: 'ingress',
          entry: { gateway: INGRESS_GATEWAY, host: INGRESS_HOST },
          authority: INGRESS_HOST,
          pathPrefix: '/api/v1/reviews',
          share: 0.5
        }
      ],
      backends: BACKENDS,
      rps: 2000,
      tickMs: 20
    })
    expect(simulator.entries).toEqual(['mesh', 'ingress'])
    const segment = await segmentWhen(simulator.mark(), s => s.mirrored.eligible >= 1000)
    const meshTraffic = segment.entries.mesh
    expect(Object.keys({ ...meshTraffic.users, ...meshTraffic.testUser })).toEqual(['v1'])
    const { ingress: ingressTraffic } = segment.entries
    expect(Object.keys({ ...ingressTraffic.users, ...ingressTraffic.testUser })).toEqual(['v2'])
    // Only the mesh route mirrors: every mesh request is eligible, half of them copied to v2.
    expect(segment.mirrored.eligible).toBe(requests(meshTraffic.users) + requests(meshTraffic.testUser))
    expect(Object.keys(segment.mirrored.copies)).toEqual(['v2'])
    expect(Math.abs(segment.mirrored.copies.v2.requests / segment.mirrored.eligible - 0.5)).toBeLessThan(0.06)
    // The canary answered the copies: its health counts them (its own proxy reports them).
    expect(simulator.recent(10_000).v2.requests).toBeGreaterThan(requests(ingressTraffic.users))
  })
})
