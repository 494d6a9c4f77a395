/**
 * The HTTPRoute ladder through the action's entry point against the API double, whose simulated Gateway API
 * controller writes each route's status a little after every change: test-user, 5%, 50%, 100%, finalize; the
 * requests one stage transition makes; a dry run with its diff; drift; bad plans with zero writes; a cluster that
 * serves the Gateway API at v1beta1 only.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { bookinfoObjects, GATEWAY_API, HTTPROUTE_PLAN } from '../../testkit/bookinfo.js'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { runAction, errorOf } from '../../testkit/run-action.js'

const COOKIE = { type: 'RegularExpression', name: 'cookie', value: '^(.*?;)?(user=test-user)(;.*)?$' }
const PATHS = ['/reviews', '/api/reviews'].map(value => ({ path: { type: 'PathPrefix', value } }))
const RATINGS_RULE = {
  name: 'ratings',
  matches: [{ path: { type: 'PathPrefix', value: '/ratings' } }],
  backendRefs: [{ group: '', kind: 'Service', name: 'ratings', port: 9080, weight: 1 }]
}
const ref = (name: string, weight: number) => ({ group: '', kind: 'Service', name, port: 9080, weight })
const TEST_USER_RULE = {
  name: 'reviews-api-test-user',
  matches: PATHS.map(match => ({ ...match, headers: [COOKIE] })),
  timeouts: { request: '5s' },
  backendRefs: [ref('reviews-v2', 100)]
}
const reviewsRule = (...backendRefs: object[]) => ({
  name: 'reviews-api',
  matches: PATHS,
  timeouts: { request: '5s' },
  backendRefs
})

function action(api: KubeApi, plan = HTTPROUTE_PLAN, inputs: Record<string, string> = {}) {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...inputs } })
}

const route = (api: KubeApi) => api.get(GATEWAY_API, 'HTTPRoute', 'default', 'reviews') as KubeObject
const rules = (api: KubeApi) => (route(api).spec as { rules: unknown[] }).rules

/** `verb resource` of each API request since the last clear, discovery aside. */
function requestLog(api: KubeApi): string[] {
  return api.requests
    .filter(request => request.verb !== 'discovery')
    .map(request => `${request.verb} ${request.resource}${request.name ? `/${request.name}` : ''}`)
}

describe('HTTPRoute ladder', () => {
  let api: KubeApi
  beforeAll(async () => {
    api = await startKubeApi({ routeStatusDelayMs: 50 })
    api.seed(bookinfoObjects({ router: 'HTTPRoute' }))
  })
  afterAll(() => api.close())

  it('starts with the test-user rule before the shifted rule; the controller accepts pin and stage', async () => {
    const result = await action(api)
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({
      status: 'advanced',
      stage: 'test-user',
      weight: '0',
      'next-stage': '5%'
    })
    expect(rules(api)).toEqual([RATINGS_RULE, TEST_USER_RULE, reviewsRule(ref('reviews-v1', 100))])
    // Pin and stage 1 were each accepted before the run went on.
    expect(
      result.stdout.match(/accepted by the controller: HTTPRoute default\/reviews after \d+ ms/g)
    ).toHaveLength(2)
    expect(route(api).metadata.generation).toBe(3)
    expect(route(api).status).toMatchObject({
      parents: [
        { conditions: [{ type: 'Accepted', status: 'True', observedGeneration: 3 }, { status: 'True' }] }
      ]
    })
  })

  it.each([
    ['5%', 5],
    ['50%', 50]
  ])('shifts %s with explicit weights, in 4 requests plus the status reads', async (stage, weight) => {
    api.clearRequests()
    const result = await action(api)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage, weight: String(weight) })
    expect(rules(api)).toEqual([
      RATINGS_RULE,
      TEST_USER_RULE,
      reviewsRule(ref('reviews-v1', 100 - weight), ref('reviews-v2', weight))
    ])
    const log = requestLog(api)
    const statusReads = log.slice(4)
    expect(log.slice(0, 4)).toEqual([
      'get httproutes/reviews',
      'list services',
      'list deployments',
      'update httproutes/reviews'
    ])
    expect(statusReads.length).toBeGreaterThanOrEqual(1)
    expect(new Set(statusReads)).toEqual(new Set(['get httproutes/reviews']))
    const reads = Number(/after \d+ ms \((\d+) status reads?\)/.exec(result.stdout)?.[1])
    expect(reads).toBe(statusReads.length)
  })

  it('sends everything to the canary backend at 100%', async () => {
    const result = await action(api)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage: '100%', weight: '100' })
    expect(rules(api)).toEqual([RATINGS_RULE, TEST_USER_RULE, reviewsRule(ref('reviews-v2', 100))])
  })

  it("finalizes: the inserted rule goes, the stable Deployments selected by reviews-v1's selector are deleted, no Service is", async () => {
    const result = await action(api)
    expect(result.outputs).toMatchObject({ status: 'completed', stage: 'finalize', done: 'true' })
    expect(rules(api)).toEqual([RATINGS_RULE, reviewsRule(ref('reviews-v2', 100))])
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')).toBeDefined()
    expect(api.get('apps/v1', 'Deployment', 'default', 'ratings-v1')).toBeDefined()
    for (const name of ['reviews', 'reviews-v1', 'reviews-v2'])
      expect(api.get('v1', 'Service', 'default', name)).toBeDefined()
    expect(route(api).spec).toMatchObject({
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }]
    })
    expect((await action(api, HTTPROUTE_PLAN, { command: 'status' })).outputs.status).toBe('completed')
  })
})

describe('HTTPRoute runs that change nothing', () => {
  let api: KubeApi
  beforeEach(async () => {
    api = await startKubeApi()
    api.seed(bookinfoObjects({ router: 'HTTPRoute' }))
    await api.waitFor(() => route(api).status !== undefined)
  })
  afterEach(() => api.close())

  it('a dry run shows the diff the cluster validated and persists nothing', async () => {
    const before = structuredClone(route(api))
    api.clearRequests()
    const result = await action(api, HTTPROUTE_PLAN, { 'dry-run': 'true' })
    expect(result.outputs.status).toBe('planned')
    expect(result.stdout).toMatch(/\+\s+- name: reviews-api-test-user\n/)
    expect(result.stdout).toMatch(/\n-\s+- name: reviews\n/)
    expect(result.stdout).toMatch(/\n\+\s+- name: reviews-v1\n/)
    expect(api.writes()).toEqual([])
    expect(api.requests.some(request => request.verb === 'update' && request.dryRun)).toBe(true)
    expect(route(api)).toEqual(before)
  })

  it('refuses drift on the HTTPRoute, naming the field, and the status writes of the controller are no drift', async () => {
    expect((await action(api)).exitCode).toBe(0)
    expect((await action(api)).outputs.stage).toBe('5%')
    const statusWrites = api.routeStatusWrites()
    expect(statusWrites).toBeGreaterThanOrEqual(3)
    const edited = route(api)
    const shifted = (edited.spec as { rules: { backendRefs: { weight: number }[] }[] }).rules[2]
    shifted.backendRefs[0].weight = 70
    shifted.backendRefs[1].weight = 30
    api.put(edited)
    api.clearRequests()
    const refused = await action(api)
    expect(refused.exitCode).toBe(1)
    expect(errorOf(refused)).toContain(
      'drift: HTTPRoute default/reviews (spec.rules[2].backendRefs[0].weight, spec.rules[2].backendRefs[1].weight) changed since this action last wrote it'
    )
    expect(api.writes()).toEqual([])
  })

  it.each([
    [
      'a prefix header match',
      HTTPROUTE_PLAN.replace(
        'cookie: { regex: "^(.*?;)?(user=test-user)(;.*)?$" }',
        'x-user: { prefix: beta }'
      ),
      'plan: stages[0].match.headers.x-user.prefix: has no Gateway API equivalent'
    ],
    [
      'versionLabel',
      HTTPROUTE_PLAN.replace('stable: v1', 'versionLabel: track\nstable: v1'),
      'plan: versionLabel: means nothing'
    ],
    [
      'a missing backend Service',
      HTTPROUTE_PLAN.replace('stable: v1', 'routing: { backends: { v2: reviews-canary } }\nstable: v1'),
      "preconditions: the canary version's backend Service default/reviews-canary not found"
    ],
    [
      'an unknown rule',
      HTTPROUTE_PLAN.replace('stable: v1', 'routing: { route: reviews }\nstable: v1'),
      "HTTPRoute default/reviews: no rule named 'reviews' (rules: ratings, reviews-api)"
    ],
    [
      'a missing route',
      HTTPROUTE_PLAN.replace('stable: v1', 'routing: { name: bookinfo }\nstable: v1'),
      'preconditions: HTTPRoute default/bookinfo not found'
    ]
  ])('refuses %s before any write', async (_what, plan, message) => {
    api.clearRequests()
    const result = await action(api, plan)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain(message)
    expect(api.writes()).toEqual([])
  })

  it('refuses a ladder whose inserted rules would take the route over 16 rules, before any write', async () => {
    const crowded = route(api)
    const spec = crowded.spec as { rules: object[] }
    spec.rules = [
      ...Array.from({ length: 14 }, (_, i) => ({
        name: `other-${i}`,
        matches: [{ path: { type: 'PathPrefix', value: `/other-${i}` } }],
        backendRefs: [{ name: 'ratings', port: 9080 }]
      })),
      ...spec.rules.slice(1)
    ]
    api.put(crowded)
    api.clearRequests()
    const sticky = HTTPROUTE_PLAN.replace('stable: v1', 'sessionAffinity: {}\nstable: v1')
    const refused = await action(api, sticky)
    expect(refused.exitCode).toBe(1)
    expect(errorOf(refused)).toContain(
      'HTTPRoute default/reviews has 15 rules, and the plan inserts 2 before each of its 1 shifted rule(s): 17 rules, more than the 16 the Gateway API allows'
    )
    expect(api.writes()).toEqual([])
    // One inserted rule still fits: 16 rules.
    const fits = await action(api)
    expect(fits.outputs.status).toBe('advanced')
    expect(rules(api)).toHaveLength(16)
  })
})

describe('a cluster that serves the Gateway API at v1beta1 only', () => {
  it('releases through gateway.networking.k8s.io/v1beta1', async () => {
    const api = await startKubeApi({ unservedVersions: ['gateway.networking.k8s.io/v1'] })
    try {
      api.seed(
        bookinfoObjects({ router: 'HTTPRoute' }).map(object =>
          object.kind === 'HTTPRoute'
            ? { ...object, apiVersion: 'gateway.networking.k8s.io/v1beta1' }
            : object
        )
      )
      expect((await action(api)).outputs.status).toBe('advanced')
      const second = await action(api)
      expect(second.outputs).toMatchObject({ status: 'advanced', stage: '5%' })
      const paths = api.requests
        .filter(request => request.resource === 'httproutes')
        .map(request => request.path)
      expect(paths.every(path => path.startsWith('/apis/gateway.networking.k8s.io/'))).toBe(true)
      expect(paths.filter(path => path.includes('/v1beta1/')).length).toBeGreaterThan(0)
      expect(
        api.writes().every(request => request.resource !== 'httproutes' || request.path.includes('/v1beta1/'))
      ).toBe(true)
    } finally {
      await api.close()
    }
  })
})
