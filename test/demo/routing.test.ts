/** The traffic simulator's route evaluation: Envoy's first match, RE2 full-match headers, weights, RouteRules. */
import { afterEach, describe, expect, it } from '@jest/globals'
import {
  compileRouteRules,
  compileRouting,
  compileVirtualService,
  formatSplit,
  routeRequest,
  seededRandom,
  stringMatches,
  targetLabel,
  type Json,
  type RoutingTable,
  type SimRequest
} from '../../demo/routing.js'
import { startTrafficSimulator, type TrafficSimulator } from '../../demo/traffic-simulator.js'
import { reviewsDestinationRule, reviewsVirtualService } from '../../testkit/bookinfo.js'

const OPTIONS = { service: 'reviews', namespace: 'default' }
const TEST_USER = { regex: '^(.*?;)?(user=test-user)(;.*)?$' }
const DEST = { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } }

function request(headers: Record<string, string> = {}, path = '/reviews/0'): SimRequest {
  return { path, method: 'GET', headers }
}

function virtualService(http: Json[]): Json {
  return { metadata: { name: 'reviews', namespace: 'default' }, spec: { hosts: ['reviews'], http } }
}

function weighted(v1: number, v2: number): Json[] {
  return [
    { destination: { ...DEST, subset: 'v1' }, weight: v1 },
    { destination: { ...DEST, subset: 'v2' }, weight: v2 }
  ]
}

/** Routes `n` requests and returns the share of each destination label. */
function shares(table: RoutingTable, req: SimRequest, n: number, seed = 7): Record<string, number> {
  const random = seededRandom(seed)
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const label = targetLabel(routeRequest(table, req, random))
    counts[label] = (counts[label] ?? 0) + 1
  }
  return Object.fromEntries(Object.entries(counts).map(([label, count]) => [label, count / n]))
}

const DESTINATION_RULES = [reviewsDestinationRule() as unknown as Json]

describe('VirtualService evaluation', () => {
  const testUserRoute = {
    name: 'reviews-route-test-user',
    match: [{ uri: { prefix: '/reviews' }, headers: { cookie: TEST_USER } }],
    route: [{ destination: { ...DEST, subset: 'v2' } }]
  }
  const defaultRoute = {
    name: 'reviews-route',
    match: [{ uri: { prefix: '/reviews' } }, { uri: { prefix: '/api/reviews' } }],
    route: weighted(100, 0)
  }

  it('takes the first http route that matches, in order', () => {
    const table = compileVirtualService(
      virtualService([testUserRoute, defaultRoute]),
      DESTINATION_RULES,
      OPTIONS
    )
    const random = seededRandom(1)
    expect(routeRequest(table, request({ cookie: 'user=test-user' }), random)).toEqual({
      route: 'reviews-route-test-user',
      target: { version: 'v2' }
    })
    expect(routeRequest(table, request({ cookie: 'session=1' }), random)).toEqual({
      route: 'reviews-route',
      target: { version: 'v1' }
    })
    // The same routes the other way round: the catch-all wins even for the test user.
    const reversed = compileVirtualService(
      virtualService([defaultRoute, testUserRoute]),
      DESTINATION_RULES,
      OPTIONS
    )
    expect(routeRequest(reversed, request({ cookie: 'user=test-user' }), random).route).toBe('reviews-route')
  })

  it('routes the Bookinfo VirtualService: other hosts stay other, unmatched paths get no route', () => {
    const table = compileRouting(
      {
        virtualServices: [reviewsVirtualService() as unknown as Json],
        destinationRules: DESTINATION_RULES,
        routeRules: [],
        deployedVersions: ['v1', 'v2']
      },
      OPTIONS
    )
    expect(table.kind).toBe('VirtualService')
    const random = seededRandom(2)
    expect(routeRequest(table, request({}, '/api/reviews/3?x=1'), random)).toEqual({
      route: 'reviews-route',
      target: { version: 'v1' }
    })
    expect(routeRequest(table, request({}, '/ratings/1'), random).target).toEqual({ other: 'ratings' })
    expect(routeRequest(table, request({}, '/details'), random)).toEqual({ failure: 'no route' })
  })

  it('matches header regexes against the whole value (RE2), exact and prefix as Istio does', () => {
    expect(stringMatches(TEST_USER, 'user=test-user')).toBe(true)
    expect(stringMatches(TEST_USER, 'theme=dark;user=test-user;lang=en')).toBe(true)
    // Full match: the pattern must cover the whole header; a space after ';' is not covered by this regex.
    expect(stringMatches(TEST_USER, 'theme=dark; user=test-user')).toBe(false)
    expect(stringMatches({ regex: 'user=test-user' }, 'a=1;user=test-user')).toBe(false)
    expect(stringMatches({ regex: '.*user=test-user.*' }, 'a=1;user=test-user')).toBe(true)
    expect(stringMatches({ exact: 'user=test-user' }, 'user=test-user ')).toBe(false)
    expect(stringMatches({ prefix: 'user=' }, 'user=anyone')).toBe(true)
    expect(stringMatches({ regex: '.*' }, undefined)).toBe(false)

    const table = compileVirtualService(
      virtualService([
        { name: 'exact', match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: weighted(0, 100) },
        {
          name: 'without',
          match: [{ withoutHeaders: { 'x-canary': { exact: 'no' } } }],
          route: weighted(0, 100)
        },
        { name: 'rest', route: weighted(100, 0) }
      ]),
      DESTINATION_RULES,
      OPTIONS
    )
    const random = seededRandom(3)
    expect(routeRequest(table, request({ 'end-user': 'jason' }), random).route).toBe('exact')
    expect(routeRequest(table, request({ 'end-user': 'jasonx', 'x-canary': 'no' }), random).route).toBe(
      'rest'
    )
    expect(routeRequest(table, request({}), random).route).toBe('without')
  })

  it.each([
    [95, 5],
    [80, 20],
    [50, 50]
  ])('splits %i/%i within a tolerance over 20000 requests (seeded)', (v1, v2) => {
    const table = compileVirtualService(
      virtualService([{ name: 'reviews-route', route: weighted(v1, v2) }]),
      DESTINATION_RULES,
      OPTIONS
    )
    const observed = shares(table, request(), 20_000)
    expect(Math.abs((observed.v2 ?? 0) - v2 / 100)).toBeLessThan(0.01)
    expect(Math.abs((observed.v1 ?? 0) - v1 / 100)).toBeLessThan(0.01)
    // Reproducible: the same seed gives the same split.
    expect(shares(table, request(), 20_000)).toEqual(observed)
  })

  it('never sends traffic to a zero weight, and reports subsets missing from the DestinationRule', () => {
    const table = compileVirtualService(
      virtualService([
        { name: 'a', match: [{ uri: { exact: '/a' } }], route: weighted(100, 0) },
        { name: 'b', match: [{ uri: { exact: '/b' } }], route: [{ destination: { ...DEST, subset: 'v9' } }] },
        { name: 'c', route: weighted(0, 0) }
      ]),
      DESTINATION_RULES,
      OPTIONS
    )
    expect(shares(table, request({}, '/a'), 2000)).toEqual({ v1: 1 })
    expect(routeRequest(table, request({}, '/b'), Math.random).target?.other).toMatch(/subset v9/)
    expect(routeRequest(table, request({}, '/c'), Math.random)).toEqual({
      route: 'c',
      failure: 'no destination'
    })
  })
})

describe('RouteRule evaluation (Istio 0.2)', () => {
  const rule = (name: string, spec: Json): Json => ({ metadata: { name, namespace: 'default' }, spec })
  const defaultRule = rule('reviews-default', {
    destination: { name: 'reviews' },
    precedence: 1,
    route: [
      { labels: { version: 'v1' }, weight: 50 },
      { labels: { version: 'v2' }, weight: 50 }
    ]
  })
  const testUserRule = rule('reviews-test-user', {
    destination: { name: 'reviews' },
    precedence: 2,
    match: { request: { headers: { cookie: TEST_USER } } },
    route: [{ labels: { version: 'v2' } }]
  })

  it('tries rules by precedence, highest first, whatever order they are listed in', () => {
    const other = rule('ratings-test-user', {
      destination: { name: 'ratings' },
      precedence: 9,
      route: [{ labels: { version: 'v9' } }]
    })
    const uriRule = rule('reviews-api', {
      destination: { name: 'reviews.default.svc.cluster.local' },
      precedence: 3,
      match: { request: { headers: { uri: { prefix: '/api' } } } },
      route: [{ labels: { version: 'v3' } }]
    })
    const table = compileRouteRules([defaultRule, other, testUserRule, uriRule], ['v1', 'v2', 'v3'], OPTIONS)
    expect(table.routes.map(route => route.name)).toEqual([
      'reviews-api',
      'reviews-test-user',
      'reviews-default'
    ])
    const random = seededRandom(4)
    expect(routeRequest(table, request({ cookie: 'user=test-user' }, '/api/x'), random).target).toEqual({
      version: 'v3'
    })
    expect(shares(table, request({ cookie: 'user=test-user' }), 1000)).toEqual({ v2: 1 })
    const observed = shares(table, request({ cookie: 'user=someone' }), 20_000)
    expect(Math.abs(observed.v1 - 0.5)).toBeLessThan(0.015)
  })

  it('balances over every deployed version when no rule exists, as Istio 0.2 did', () => {
    const table = compileRouting(
      { virtualServices: [], destinationRules: [], routeRules: [], deployedVersions: ['v1', 'v2', 'v3'] },
      OPTIONS
    )
    expect(table.kind).toBe('RouteRule')
    const observed = shares(table, request(), 30_000)
    for (const version of ['v1', 'v2', 'v3']) expect(Math.abs(observed[version] - 1 / 3)).toBeLessThan(0.015)
  })
})

describe('formatSplit', () => {
  it('prints shares sorted by version, with one decimal', () => {
    expect(formatSplit({ v2: 49, v1: 951 })).toBe('v1 95.1% / v2 4.9%')
    expect(formatSplit({ v2: 12, v1: 0 })).toBe('v2 100%')
    expect(formatSplit({})).toBe('no requests')
  })
})

describe('traffic simulator endpoints', () => {
  let simulator: TrafficSimulator | undefined
  afterEach(async () => simulator?.close())

  it('serves the product page through the routing and a per-version health page', async () => {
    const vs = virtualService([
      {
        name: 'test-user',
        match: [{ headers: { cookie: TEST_USER } }],
        route: [{ destination: { ...DEST, subset: 'v3' } }]
      },
      { name: 'reviews-route', route: weighted(100, 0) }
    ])
    simulator = await startTrafficSimulator({
      ...OPTIONS,
      readRouting: () => ({
        virtualServices: [vs],
        destinationRules: DESTINATION_RULES,
        routeRules: [],
        deployedVersions: ['v1', 'v3']
      }),
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

    const since = simulator.mark()
    await new Promise(resolve => setTimeout(resolve, 400))
    const [segment] = simulator.segmentsSince(since)
    expect(Object.keys(segment.users)).toEqual(['v1'])
    expect(segment.testUser.v3.errors).toBe(segment.testUser.v3.requests)
    const v1 = await fetch(`${simulator.url}/health/v1?min=0.99`)
    expect(v1.status).toBe(200)
    expect(await v1.text()).toMatch(/v1: success rate 1\.000/)
    const v3 = await fetch(`${simulator.url}/health/v3`)
    expect(v3.status).toBe(503)
    expect(await v3.text()).toMatch(/v3: success rate 0\.000/)
  })
})
