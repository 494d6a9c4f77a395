/**
 * The traffic simulator's route evaluation: a VirtualService's first match, RE2 full-match headers, weights,
 * entry points (mesh or ingress gateway); RouteRules by precedence; HTTPRoutes by the Gateway API's match
 * precedence, backendRefs through Services; mirrors and the cookies responses set, for every API.
 */
import { describe, expect, it } from '@jest/globals'
import { compileHttpRoutes, type Workload } from '../../demo/http-route-routing.js'
import { compileRouteRules } from '../../demo/route-rule-routing.js'
import {
  formatSplit,
  routeRequest,
  targetLabel,
  type Json,
  type RoutingResult,
  type RoutingTable,
  type SimRequest
} from '../../demo/route-table.js'
import { compileRouting } from '../../demo/routing.js'
import { compileVirtualService, MESH, stringMatches } from '../../demo/virtual-service-routing.js'
import {
  GATEWAY_API,
  INGRESS_GATEWAY,
  INGRESS_HOST,
  ingressVirtualService,
  reviewsDestinationRule,
  reviewsVirtualService,
  versionService
} from '../../testkit/bookinfo.js'
import { createRandom } from '../../testkit/random.js'

const seededRandom = (seed: number) => createRandom(seed).uniform

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

describe('entry points: the mesh and an ingress gateway', () => {
  const objects = {
    virtualServices: [reviewsVirtualService(), ingressVirtualService()] as unknown as Json[],
    destinationRules: DESTINATION_RULES,
    routeRules: [],
    deployedVersions: ['v1', 'v2']
  }
  const ingress = { gateway: INGRESS_GATEWAY, host: INGRESS_HOST }

  it("routes each entry point's requests by the VirtualService bound to it", () => {
    const mesh = compileRouting(objects, OPTIONS)
    const gateway = compileRouting(objects, { ...OPTIONS, entry: ingress })
    expect(mesh.sources).toEqual(['VirtualService default/reviews'])
    expect(gateway.sources).toEqual(['VirtualService istio-ingress/bookinfo'])
    const random = seededRandom(5)
    expect(routeRequest(gateway, request({}, '/api/v1/reviews/2'), random)).toEqual({
      route: 'reviews-ingress',
      target: { version: 'v1' }
    })
    expect(routeRequest(gateway, request({}, '/productpage'), random).target).toEqual({
      other: 'productpage.default.svc.cluster.local'
    })
    // The mesh's VirtualService has no route for the ingress's path, and the ingress's none for the mesh's.
    expect(routeRequest(mesh, request({}, '/api/v1/reviews/2'), random)).toEqual({ failure: 'no route' })
    expect(routeRequest(gateway, request({}, '/reviews/2'), random)).toEqual({ failure: 'no route' })
    // Another host at the same gateway has no VirtualService at all: no route.
    const elsewhere = {
      ...OPTIONS,
      router: 'VirtualService' as const,
      entry: { ...ingress, host: 'other.example.com' }
    }
    expect(routeRequest(compileRouting(objects, elsewhere), request(), random)).toEqual({
      failure: 'no route'
    })
  })

  it("reads a short host as a Service of the VirtualService's own namespace, and gateways relative to it", () => {
    const vs = (namespace: string, host: string, gateways?: string[]): Json => ({
      metadata: { name: 'x', namespace },
      spec: {
        hosts: ['bookinfo.example.com'],
        gateways,
        http: [
          {
            match: [{ uri: { prefix: '/only-mesh' }, gateways: ['mesh'] }],
            route: [{ destination: { host, subset: 'v2' } }]
          },
          { route: [{ destination: { host, subset: 'v1' } }] }
        ]
      }
    })
    const at = { ...ingress, gateway: 'istio-ingress/bookinfo-gateway' }
    const random = seededRandom(6)
    const inIngress = compileVirtualService(
      vs('istio-ingress', 'reviews', ['bookinfo-gateway']),
      DESTINATION_RULES,
      {
        ...OPTIONS,
        entry: at
      }
    )
    expect(routeRequest(inIngress, request(), random).target).toEqual({ other: 'reviews' })
    const qualified = compileVirtualService(
      vs('istio-ingress', 'reviews.default.svc.cluster.local', ['bookinfo-gateway']),
      DESTINATION_RULES,
      { ...OPTIONS, entry: at }
    )
    expect(routeRequest(qualified, request(), random).target).toEqual({ version: 'v1' })
    // A match limited to the mesh never fits a request that came through a gateway.
    expect(routeRequest(qualified, request({}, '/only-mesh'), random).target).toEqual({ version: 'v1' })
    const mesh = compileVirtualService(vs('default', 'reviews'), DESTINATION_RULES, {
      ...OPTIONS,
      entry: MESH
    })
    expect(routeRequest(mesh, request({}, '/only-mesh'), random).target).toEqual({ version: 'v2' })
  })
})

/** An HTTPRoute attached to the reviews Service (GAMMA), or to what `parentRefs` says. */
function httpRoute(name: string, rules: Json[], extra: { created?: string; parentRefs?: Json[] } = {}): Json {
  return {
    apiVersion: GATEWAY_API,
    kind: 'HTTPRoute',
    metadata: {
      name,
      namespace: 'default',
      creationTimestamp: extra.created ?? '2024-01-01T00:00:00Z'
    },
    spec: {
      parentRefs: extra.parentRefs ?? [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules
    }
  }
}

const SERVICES: Json[] = [
  {
    metadata: { name: 'reviews', namespace: 'default' },
    spec: { selector: { app: 'reviews' } }
  },
  { metadata: { name: 'ratings', namespace: 'default' }, spec: { selector: { app: 'ratings' } } },
  ...(['v1', 'v2', 'v3'].map(version => versionService(version)) as unknown as Json[])
]
const WORKLOADS: Workload[] = [
  ...['v1', 'v2'].map(version => ({
    namespace: 'default',
    labels: { app: 'reviews', version },
    replicas: 1
  })),
  { namespace: 'default', labels: { app: 'ratings', version: 'v1' }, replicas: 1 }
]
const HTTP_OPTIONS = { ...OPTIONS, entry: MESH, services: SERVICES, workloads: WORKLOADS }

const to = (service: string, weight?: number): Json => ({
  name: service,
  port: 9080,
  ...(weight !== undefined && { weight })
})
const prefix = (value: string, more: Json = {}): Json => ({ path: { type: 'PathPrefix', value }, ...more })
const cookieHeader = (regex: string): Json[] => [{ type: 'RegularExpression', name: 'Cookie', value: regex }]

describe('HTTPRoute evaluation (Gateway API precedence)', () => {
  const routeOf = (table: RoutingTable, req: SimRequest) => routeRequest(table, req, seededRandom(8)).route

  it('picks the most specific match whatever the rule order: Exact, then the longest PathPrefix, then headers', () => {
    const table = compileHttpRoutes(
      [
        httpRoute('reviews', [
          { name: 'everything', backendRefs: [to('reviews-v1')] },
          { name: 'reviews', matches: [prefix('/reviews')], backendRefs: [to('reviews-v1')] },
          {
            name: 'reviews-test-user',
            matches: [prefix('/reviews', { headers: cookieHeader(TEST_USER.regex) })],
            backendRefs: [to('reviews-v2')]
          },
          {
            name: 'exact',
            matches: [{ path: { type: 'Exact', value: '/reviews/0' } }],
            backendRefs: [to('reviews-v1')]
          }
        ])
      ],
      HTTP_OPTIONS
    )
    expect(routeOf(table, request({ cookie: 'user=test-user' }, '/reviews/0'))).toBe('exact')
    expect(routeOf(table, request({ cookie: 'user=test-user' }, '/reviews/1'))).toBe('reviews-test-user')
    expect(routeOf(table, request({ cookie: 'session=4' }, '/reviews/1'))).toBe('reviews')
    expect(routeOf(table, request({ cookie: 'user=test-user' }, '/ratings/1'))).toBe('everything')
    expect(table.routes.map(route => route.name)).toEqual([
      'exact',
      'reviews-test-user',
      'reviews',
      'everything'
    ])
  })

  it('ranks a method match above header matches, and header matches above query param matches', () => {
    const header = (name: string) => ({ name, value: 'yes' })
    const table = compileHttpRoutes(
      [
        httpRoute('reviews', [
          { name: 'two-headers', matches: [prefix('/reviews', { headers: [header('x-a'), header('x-b')] })] },
          {
            name: 'one-header-one-query',
            matches: [
              prefix('/reviews', { headers: [header('x-a')], queryParams: [{ name: 'q', value: '1' }] })
            ]
          },
          { name: 'one-header', matches: [prefix('/reviews', { headers: [header('x-a')] })] },
          { name: 'get', matches: [prefix('/reviews', { method: 'GET' })] }
        ])
      ],
      HTTP_OPTIONS
    )
    const both = { 'x-a': 'yes', 'x-b': 'yes' }
    expect(routeOf(table, request(both, '/reviews/1?q=1'))).toBe('get')
    expect(routeOf(table, { ...request(both, '/reviews/1?q=1'), method: 'POST' })).toBe('two-headers')
    expect(routeOf(table, { ...request({ 'x-a': 'yes' }, '/reviews/1?q=1'), method: 'POST' })).toBe(
      'one-header-one-query'
    )
    expect(routeOf(table, { ...request({ 'x-a': 'yes' }, '/reviews/1?q=2'), method: 'POST' })).toBe(
      'one-header'
    )
    // A longer prefix outranks all of them.
    const longer = compileHttpRoutes(
      [
        httpRoute('reviews', [
          { name: 'get', matches: [prefix('/', { method: 'GET' })] },
          { name: 'long', matches: [prefix('/reviews/')] }
        ])
      ],
      HTTP_OPTIONS
    )
    expect(routeOf(longer, request({}, '/reviews/1'))).toBe('long')
  })

  it('breaks ties by the oldest route, then by namespace/name, then by rule order', () => {
    const rule = (name: string) => ({ name, matches: [prefix('/reviews')], backendRefs: [to('reviews-v1')] })
    const older = httpRoute('zz-older', [rule('older')], { created: '2023-06-01T00:00:00Z' })
    const newer = httpRoute('aa-newer', [rule('newer')], { created: '2024-06-01T00:00:00Z' })
    expect(routeOf(compileHttpRoutes([newer, older], HTTP_OPTIONS), request())).toBe('older')
    const sameAge = httpRoute('aa-same', [rule('by-name'), rule('second-rule')], {
      created: '2023-06-01T00:00:00Z'
    })
    expect(routeOf(compileHttpRoutes([older, sameAge], HTTP_OPTIONS), request())).toBe('by-name')
  })

  it('matches PathPrefix by whole path elements, Exact paths exactly, headers by name in any case, RE2 in full', () => {
    const table = compileHttpRoutes(
      [
        httpRoute('reviews', [
          { name: 'prefix', matches: [prefix('/reviews/')] },
          { name: 'regex-path', matches: [{ path: { type: 'RegularExpression', value: '/rev[a-z]+' } }] },
          {
            name: 'header',
            matches: [
              {
                path: { type: 'Exact', value: '/h' },
                // Only the first match on a name counts.
                headers: [
                  { name: 'X-User', value: 'jason' },
                  { name: 'x-user', value: 'someone-else' }
                ]
              }
            ]
          },
          {
            name: 'regex-header',
            matches: [{ path: { type: 'Exact', value: '/r' }, headers: cookieHeader('user=.*') }]
          }
        ])
      ],
      HTTP_OPTIONS
    )
    expect(routeOf(table, request({}, '/reviews'))).toBe('prefix')
    expect(routeOf(table, request({}, '/reviews/3'))).toBe('prefix')
    expect(routeOf(table, request({}, '/reviewsx'))).toBe('regex-path')
    expect(routeOf(table, request({}, '/reviewsx/1'))).toBeUndefined()
    expect(routeOf(table, request({ 'x-user': 'jason' }, '/h'))).toBe('header')
    expect(routeOf(table, request({ 'x-user': 'jason' }, '/h/'))).toBeUndefined()
    expect(routeOf(table, request({ cookie: 'user=a' }, '/r'))).toBe('regex-header')
    expect(routeOf(table, request({ cookie: 'a=1; user=a' }, '/r'))).toBeUndefined()
    expect(routeRequest(table, request({}, '/details'), Math.random)).toEqual({ failure: 'no route' })
  })

  it('sends each backendRef its relative weight (1 when unset) and resolves it through its Service', () => {
    const table = compileHttpRoutes(
      [
        httpRoute('reviews', [
          {
            name: 'three-to-one',
            matches: [prefix('/a')],
            backendRefs: [to('reviews-v1', 3), to('reviews-v2', 1)]
          },
          { name: 'unset', matches: [prefix('/b')], backendRefs: [to('reviews-v1'), to('reviews-v2')] },
          { name: 'service', matches: [prefix('/c')], backendRefs: [to('reviews')] },
          { name: 'missing', matches: [prefix('/d')], backendRefs: [to('reviews-v9')] },
          { name: 'no-pods', matches: [prefix('/e')], backendRefs: [to('reviews-v3')] },
          { name: 'ratings', matches: [prefix('/f')], backendRefs: [to('ratings')] },
          { name: 'zero', matches: [prefix('/g')], backendRefs: [to('reviews-v1', 0)] }
        ])
      ],
      HTTP_OPTIONS
    )
    const a = shares(table, request({}, '/a'), 20_000)
    expect(Math.abs(a.v1 - 0.75)).toBeLessThan(0.015)
    const b = shares(table, request({}, '/b'), 20_000)
    expect(Math.abs(b.v1 - 0.5)).toBeLessThan(0.015)
    // The reviews Service selects both versions' pods: one replica each, half the requests each.
    const c = shares(table, request({}, '/c'), 20_000)
    expect(Math.abs(c.v2 - 0.5)).toBeLessThan(0.015)
    expect(shares(table, request({}, '/d'), 10)).toEqual({ 'reviews-v9 (no such Service)': 1 })
    expect(shares(table, request({}, '/e'), 10)).toEqual({ 'reviews-v3 (no endpoints)': 1 })
    expect(shares(table, request({}, '/f'), 10)).toEqual({ ratings: 1 })
    expect(routeRequest(table, request({}, '/g'), Math.random)).toEqual({
      route: 'zero',
      failure: 'no destination'
    })
  })

  it('applies only the routes attached to the entry point; with none, the mesh goes to every pod of the service', () => {
    const ingressRoute = httpRoute('bookinfo', [{ name: 'api', backendRefs: [to('reviews-v2')] }], {
      parentRefs: [{ name: 'bookinfo-gateway', namespace: 'istio-ingress' }]
    })
    ingressRoute.spec = { ...(ingressRoute.spec as Json), hostnames: ['*.example.com'] }
    const otherService = httpRoute('ratings', [{ backendRefs: [to('ratings')] }], {
      parentRefs: [{ group: '', kind: 'Service', name: 'ratings' }]
    })
    const objects = {
      virtualServices: [],
      destinationRules: [],
      routeRules: [],
      httpRoutes: [ingressRoute, otherService],
      services: SERVICES,
      workloads: WORKLOADS,
      deployedVersions: ['v1', 'v2']
    }
    const router = 'HTTPRoute' as const
    const mesh = compileRouting(objects, { ...OPTIONS, router })
    expect(mesh.kind).toBe('none')
    expect(Math.abs(shares(mesh, request(), 20_000).v1 - 0.5)).toBeLessThan(0.015)
    const gateway = compileRouting(objects, {
      ...OPTIONS,
      router,
      entry: { gateway: INGRESS_GATEWAY, host: INGRESS_HOST }
    })
    expect(gateway.sources).toEqual(['HTTPRoute default/bookinfo'])
    expect(shares(gateway, request(), 100)).toEqual({ v2: 1 })
    const otherHost = compileRouting(objects, {
      ...OPTIONS,
      router,
      entry: { gateway: INGRESS_GATEWAY, host: 'example.org' }
    })
    expect(routeRequest(otherHost, request(), Math.random)).toEqual({ failure: 'no route' })
  })
})

/** Routes `n` requests; the share of them the mirror copied, and where the copies went. */
function mirrored(
  table: RoutingTable,
  req: SimRequest,
  n: number
): { share: number; to: string[]; served: string[] } {
  const random = seededRandom(11)
  const results: RoutingResult[] = Array.from({ length: n }, () => routeRequest(table, req, random))
  const copies = results.flatMap(result => (result.mirror ? [targetLabel({ target: result.mirror })] : []))
  return {
    share: copies.length / n,
    to: [...new Set(copies)],
    served: [...new Set(results.map(targetLabel))]
  }
}

describe('mirrors', () => {
  it("VirtualService: copies mirrorPercentage of the route's requests (all when unset), serving every one from the route", () => {
    const mirror = { host: 'reviews', subset: 'v2' }
    const table = compileVirtualService(
      virtualService([
        {
          name: 'half',
          match: [{ uri: { prefix: '/half' } }],
          route: weighted(100, 0),
          mirror,
          mirrorPercentage: { value: 50 }
        },
        { name: 'all', match: [{ uri: { prefix: '/all' } }], route: weighted(100, 0), mirror },
        { name: 'none', route: weighted(100, 0) }
      ]),
      DESTINATION_RULES,
      OPTIONS
    )
    const half = mirrored(table, request({}, '/half'), 10_000)
    expect(Math.abs(half.share - 0.5)).toBeLessThan(0.02)
    expect(half).toMatchObject({ to: ['v2'], served: ['v1'] })
    expect(mirrored(table, request({}, '/all'), 1000)).toEqual({ share: 1, to: ['v2'], served: ['v1'] })
    expect(mirrored(table, request({}, '/other'), 1000)).toEqual({ share: 0, to: [], served: ['v1'] })
    const random = seededRandom(12)
    expect(routeRequest(table, request({}, '/half'), random).mirrorPercent).toBe(50)
    expect(routeRequest(table, request({}, '/other'), random)).not.toHaveProperty('mirrorPercent')
  })

  it('HTTPRoute: a RequestMirror filter copies its percent (or fraction) to its backend, all when neither is set', () => {
    const filter = (requestMirror: Json) => [
      {
        type: 'RequestMirror',
        requestMirror: { backendRef: { name: 'reviews-v2', port: 9080 }, ...requestMirror }
      }
    ]
    const table = compileHttpRoutes(
      [
        httpRoute('reviews', [
          { matches: [prefix('/p')], filters: filter({ percent: 25 }), backendRefs: [to('reviews-v1')] },
          {
            matches: [prefix('/f')],
            filters: filter({ fraction: { numerator: 1, denominator: 10 } }),
            backendRefs: [to('reviews-v1')]
          },
          { matches: [prefix('/a')], filters: filter({}), backendRefs: [to('reviews-v1')] }
        ])
      ],
      HTTP_OPTIONS
    )
    const percent = mirrored(table, request({}, '/p'), 10_000)
    expect(Math.abs(percent.share - 0.25)).toBeLessThan(0.02)
    expect(percent).toMatchObject({ to: ['v2'], served: ['v1'] })
    expect(Math.abs(mirrored(table, request({}, '/f'), 10_000).share - 0.1)).toBeLessThan(0.015)
    expect(mirrored(table, request({}, '/a'), 1000).share).toBe(1)
  })

  it("RouteRule: the rule's mirror copies every request it routes", () => {
    const table = compileRouteRules(
      [
        {
          metadata: { name: 'reviews-default', namespace: 'default' },
          spec: {
            destination: { name: 'reviews' },
            precedence: 1,
            route: [{ labels: { version: 'v1' } }],
            mirror: { name: 'reviews', labels: { version: 'v2' } }
          }
        }
      ],
      ['v1', 'v2'],
      OPTIONS
    )
    expect(mirrored(table, request(), 1000)).toEqual({ share: 1, to: ['v2'], served: ['v1'] })
  })
})

describe('cookies the routing sets', () => {
  const COOKIE = 'istio-canary=v2; Max-Age=86400; Path=/'

  it('VirtualService: the destination drawn, and the route, add their set-cookie headers to the response', () => {
    const [stable, canary] = weighted(50, 50)
    const table = compileVirtualService(
      virtualService([
        {
          name: 'split',
          match: [{ uri: { prefix: '/split' } }],
          route: [stable, { ...canary, headers: { response: { add: { 'set-cookie': COOKIE } } } }]
        },
        {
          name: 'route-level',
          headers: { response: { set: { 'Set-Cookie': 'a=1' } } },
          route: weighted(100, 0)
        }
      ]),
      DESTINATION_RULES,
      OPTIONS
    )
    const random = seededRandom(13)
    const results = Array.from({ length: 400 }, () => routeRequest(table, request({}, '/split'), random))
    for (const result of results)
      expect(result.setCookies).toEqual(result.target?.version === 'v2' ? [COOKIE] : undefined)
    expect(new Set(results.map(targetLabel))).toEqual(new Set(['v1', 'v2']))
    expect(routeRequest(table, request(), random).setCookies).toEqual(['a=1'])
  })

  it('HTTPRoute: a ResponseHeaderModifier on the backendRef drawn (or on the rule) sets the cookie', () => {
    const modifier = (name: string, value: string) => [
      { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name, value }] } }
    ]
    const table = compileHttpRoutes(
      [
        httpRoute('reviews', [
          {
            name: 'split',
            matches: [prefix('/split')],
            backendRefs: [
              to('reviews-v1', 50),
              { ...to('reviews-v2', 50), filters: modifier('Set-Cookie', COOKIE) }
            ]
          },
          { name: 'rule', filters: modifier('set-cookie', 'a=1'), backendRefs: [to('reviews-v1')] }
        ])
      ],
      HTTP_OPTIONS
    )
    const random = seededRandom(14)
    const results = Array.from({ length: 400 }, () => routeRequest(table, request({}, '/split'), random))
    for (const result of results)
      expect(result.setCookies).toEqual(result.target?.version === 'v2' ? [COOKIE] : undefined)
    expect(new Set(results.map(targetLabel))).toEqual(new Set(['v1', 'v2']))
    expect(routeRequest(table, request(), random).setCookies).toEqual(['a=1'])
  })
})
