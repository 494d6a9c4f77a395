/** The whole ladder, one `advance` per run, through the action's entry point against the API test double. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, RATINGS_ROUTE, SEED_PLAN, VS_PLAN } from '../../testkit/bookinfo.js'
import { runAction } from '../../testkit/run-action.js'

const NETWORKING = 'networking.istio.io/v1'
const COOKIE = { cookie: { regex: '^(.*?;)?(user=test-user)(;.*)?$' } }
const DEST = { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } }
const REVIEWS_ROUTE_FIELDS = {
  name: 'reviews-route',
  match: [{ uri: { prefix: '/reviews' } }, { uri: { prefix: '/api/reviews' } }],
  retries: { attempts: 3, perTryTimeout: '2s' }
}
const TEST_USER_ROUTE = {
  name: 'reviews-route-test-user',
  match: [
    { uri: { prefix: '/reviews' }, headers: COOKIE },
    { uri: { prefix: '/api/reviews' }, headers: COOKIE }
  ],
  retries: { attempts: 3, perTryTimeout: '2s' },
  route: [{ destination: { ...DEST, subset: 'v2' } }]
}

function advance(api: KubeApi, plan: string, extra: Record<string, string> = {}) {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...extra } })
}

describe('VirtualService ladder', () => {
  let api: KubeApi
  beforeAll(async () => {
    api = await startKubeApi()
    api.seed(bookinfoObjects())
  })
  afterAll(() => api.close())

  const spec = () =>
    api.get(NETWORKING, 'VirtualService', 'default', 'reviews')?.spec as Record<string, unknown>
  const reviewsRoutes = () => (spec().http as unknown[]).slice(1)

  it('starts with the test-user route inserted before the shifted route, keeping its matches and fields', async () => {
    const result = await advance(api, VS_PLAN)
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({
      status: 'advanced',
      stage: 'test-user',
      'stage-index': '1',
      weight: '0',
      'next-stage': '5%',
      done: 'false'
    })
    expect(reviewsRoutes()).toEqual([
      TEST_USER_ROUTE,
      { ...REVIEWS_ROUTE_FIELDS, route: [{ destination: { ...DEST, subset: 'v1' } }] }
    ])
  })

  it.each([
    ['5%', 2, 5],
    ['50%', 3, 50]
  ])('shifts %s of unmatched traffic', async (stage, index, weight) => {
    const result = await advance(api, VS_PLAN)
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({
      status: 'advanced',
      stage,
      'stage-index': String(index),
      weight: String(weight)
    })
    expect(reviewsRoutes()).toEqual([
      TEST_USER_ROUTE,
      {
        ...REVIEWS_ROUTE_FIELDS,
        route: [
          { destination: { ...DEST, subset: 'v1' }, weight: 100 - weight },
          { destination: { ...DEST, subset: 'v2' }, weight }
        ]
      }
    ])
  })

  it('sends everything to the canary at 100%', async () => {
    const result = await advance(api, VS_PLAN)
    expect(result.outputs).toMatchObject({
      status: 'advanced',
      stage: '100%',
      weight: '100',
      'next-stage': 'finalize'
    })
    expect(reviewsRoutes()).toEqual([
      TEST_USER_ROUTE,
      { ...REVIEWS_ROUTE_FIELDS, route: [{ destination: { ...DEST, subset: 'v2' }, weight: 100 }] }
    ])
  })

  it('finalizes: match route removed, stable Deployment deleted, release completed', async () => {
    const result = await advance(api, VS_PLAN)
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({
      status: 'completed',
      stage: 'finalize',
      weight: '100',
      'next-stage': '',
      done: 'true'
    })
    expect(reviewsRoutes()).toEqual([
      { ...REVIEWS_ROUTE_FIELDS, route: [{ destination: { ...DEST, subset: 'v2' } }] }
    ])
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')).toBeDefined()
    expect(api.get('apps/v1', 'Deployment', 'default', 'ratings-v1')).toBeDefined()
  })

  it('never touched the unrelated route, hosts, gateways or tcp routes', () => {
    const current = spec()
    expect((current.http as unknown[])[0]).toEqual(RATINGS_ROUTE)
    expect(JSON.stringify((current.http as unknown[])[0])).toBe(JSON.stringify(RATINGS_ROUTE))
    expect(current.hosts).toEqual(['reviews', 'bookinfo.example.com'])
    expect(current.gateways).toEqual(['bookinfo-gateway', 'mesh'])
    expect(current.tcp).toEqual([
      { match: [{ port: 27017 }], route: [{ destination: { host: 'mongo', port: { number: 27017 } } }] }
    ])
  })

  it('is unchanged and done after the last stage', async () => {
    api.clearRequests()
    const result = await advance(api, VS_PLAN)
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'unchanged', done: 'true' })
    expect(api.writes()).toEqual([])
  })

  it('status writes a report file and nothing to the cluster', async () => {
    api.clearRequests()
    const result = await runAction({
      inputs: { plan: VS_PLAN, kubeconfig: api.kubeconfig(), report: 'none', command: 'status' }
    })
    expect(result.outputs.status).toBe('completed')
    expect(result.report).toMatchObject({
      command: 'status',
      status: 'completed',
      service: 'reviews',
      done: true
    })
    expect(api.writes()).toEqual([])
  })
})

describe('RouteRule ladder (the Istio 0.2 tutorial)', () => {
  let api: KubeApi
  beforeAll(async () => {
    api = await startKubeApi()
    api.seed(bookinfoObjects({ router: 'RouteRule' }))
  })
  afterAll(() => api.close())

  const rule = (name: string) => {
    const object = api.get('config.istio.io/v1alpha2', 'RouteRule', 'default', name)
    return object && object.spec
  }
  const route = (version: string, weight?: number) => ({
    labels: { version },
    ...(weight === undefined ? {} : { weight })
  })

  it('reproduces reviews-default and reviews-test-user', async () => {
    const result = await advance(api, SEED_PLAN)
    expect(result.exitCode).toBe(0)
    expect(rule('reviews-default')).toEqual({
      destination: { name: 'reviews' },
      precedence: 1,
      route: [route('v1')]
    })
    expect(rule('reviews-test-user')).toEqual({
      destination: { name: 'reviews' },
      precedence: 2,
      match: { request: { headers: COOKIE } },
      route: [route('v2')]
    })
  })

  it('splits 50/50, then 100% v2', async () => {
    await advance(api, SEED_PLAN)
    expect(rule('reviews-default')).toEqual({
      destination: { name: 'reviews' },
      precedence: 1,
      route: [route('v1', 50), route('v2', 50)]
    })
    await advance(api, SEED_PLAN)
    expect(rule('reviews-default')).toEqual({
      destination: { name: 'reviews' },
      precedence: 1,
      route: [route('v2', 100)]
    })
  })

  it('finally deletes reviews-test-user and the v1 Deployment', async () => {
    const result = await advance(api, SEED_PLAN)
    expect(result.outputs).toMatchObject({ status: 'completed', done: 'true' })
    expect(rule('reviews-test-user')).toBeUndefined()
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
    expect(rule('reviews-default')).toEqual({
      destination: { name: 'reviews' },
      precedence: 1,
      route: [route('v2', 100)]
    })
  })
})

describe('promote', () => {
  let api: KubeApi
  beforeEach(async () => {
    api = await startKubeApi()
    api.seed(bookinfoObjects())
  })
  afterEach(() => api.close())

  const lastRoute = () =>
    (
      api.get(NETWORKING, 'VirtualService', 'default', 'reviews')?.spec as { http: { route: unknown[] }[] }
    ).http.at(-1)

  it('applies the last stage from the middle of the ladder, skipping the rest', async () => {
    expect((await advance(api, VS_PLAN)).outputs.stage).toBe('test-user')
    const result = await advance(api, VS_PLAN, { command: 'promote' })
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({
      status: 'completed',
      stage: 'finalize',
      'stage-index': '5',
      done: 'true'
    })
    expect(lastRoute()).toEqual({
      ...REVIEWS_ROUTE_FIELDS,
      route: [{ destination: { ...DEST, subset: 'v2' } }]
    })
    expect(
      (api.get(NETWORKING, 'VirtualService', 'default', 'reviews')?.spec as { http: unknown[] }).http
    ).toHaveLength(2)
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
  })

  it('pins and applies the last stage from idle', async () => {
    const plan = VS_PLAN.replace('finalize: { deleteStable: true }', 'finalize: { deleteStable: false }')
    const result = await advance(api, plan, { command: 'promote' })
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'completed', weight: '100', done: 'true' })
    expect(lastRoute()).toEqual({
      ...REVIEWS_ROUTE_FIELDS,
      route: [{ destination: { ...DEST, subset: 'v2' } }]
    })
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeDefined()
  })
})
