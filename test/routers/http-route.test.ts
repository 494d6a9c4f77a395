import { describe, expect, it } from '@jest/globals'
import type { JsonObject } from '../../src/common/json.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import type { KubeClient } from '../../src/kube/kube-client.js'
import { PlanError } from '../../src/plan/plan-error.js'
import type { Plan } from '../../src/plan/types.js'
import { httpRouteRouter as router } from '../../src/routers/http-route.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import { TEST_USER_REGEX } from './fixtures.js'

const KEY = 'default/reviews'
const MESH_PARENT = { group: '', kind: 'Service', name: 'reviews', port: 9080 }

function httpRoutePlan(stages: string[], extra = ''): Plan {
  return parsePlan(
    `service: reviews\nrouter: HTTPRoute\nstable: v1\ncanary: v2\n${extra}stages:\n${stages.map(s => `  - ${s}\n`).join('')}`
  )
}

const COOKIE_STAGE = `match: { headers: { cookie: { regex: "${TEST_USER_REGEX}" } } }`
const SEED = httpRoutePlan([COOKIE_STAGE, 'weight: 5', 'weight: 50', 'weight: 100', 'finalize: {}'])

/** A backendRef as the API server stores it (defaults filled in). */
function ref(name: string, weight = 1, extra: JsonObject = {}): JsonObject {
  return { group: '', kind: 'Service', name, port: 9080, weight, ...extra }
}

const PREFIX = (value: string) => ({ path: { type: 'PathPrefix', value } })

/** Bookinfo's mesh route for reviews (GAMMA) with an unrelated rule before it. */
function meshRoute(reviewsRefs: JsonObject[] = [ref('reviews')]): JsonObject {
  return {
    parentRefs: [MESH_PARENT],
    rules: [
      { name: 'ratings', matches: [PREFIX('/ratings')], backendRefs: [ref('ratings')] },
      {
        name: 'reviews-api',
        matches: [PREFIX('/reviews'), PREFIX('/api/reviews')],
        filters: [
          {
            type: 'RequestHeaderModifier',
            requestHeaderModifier: { set: [{ name: 'x-route', value: 'reviews' }] }
          }
        ],
        timeouts: { request: '5s' },
        backendRefs: reviewsRefs
      }
    ]
  }
}

const specs = (spec: JsonObject): RoutingSpecs => ({ [KEY]: spec })
const rulesOf = (spec: RoutingSpecs | JsonObject): JsonObject[] =>
  ((KEY in spec ? spec[KEY] : spec) as { rules: JsonObject[] }).rules

function atStage(spec: JsonObject, plan: Plan, index: number): JsonObject[] {
  const target = router.pin(specs(spec), plan)
  return rulesOf(router.stage(target, target, plan, index, 'v2'))
}

describe('pin', () => {
  it('puts the rule to the service on the stable backend, weight 100, and leaves the rest as it is', () => {
    const spec = meshRoute()
    const before = JSON.stringify(spec)
    const pinned = router.pin(specs(spec), SEED)[KEY] as JsonObject
    expect(JSON.stringify(spec)).toBe(before)
    expect(rulesOf(pinned)[1].backendRefs).toEqual([ref('reviews-v1', 100)])
    expect(rulesOf(pinned)[0]).toEqual(rulesOf(meshRoute())[0])
    expect(pinned.parentRefs).toEqual([MESH_PARENT])
    expect({ ...rulesOf(pinned)[1], backendRefs: [] }).toEqual({ ...rulesOf(spec)[1], backendRefs: [] })
  })

  it('leaves a rule already on the stable backend alone, byte for byte, and is idempotent', () => {
    const spec = meshRoute([ref('reviews-v1', 1)])
    const pinned = router.pin(specs(spec), SEED)
    expect(JSON.stringify(pinned[KEY])).toBe(JSON.stringify(spec))
    const split = router.pin(specs(meshRoute([ref('reviews-v1', 90), ref('reviews-v2', 10)])), SEED)
    expect(router.pin(split, SEED)).toEqual(split)
  })

  it("collapses a leftover split into the stable backend, keeping the stable backendRef's own fields", () => {
    const stable = ref('reviews-v1', 90, {
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-v', value: '1' }] } }
      ]
    })
    const pinned = router.pin(specs(meshRoute([ref('reviews-v2', 10), stable])), SEED)
    expect(rulesOf(pinned)[1].backendRefs).toEqual([{ ...stable, weight: 100 }])
  })

  it('keeps the total weight of the service beside a backend of another service', () => {
    const pinned = router.pin(specs(meshRoute([ref('reviews', 3), ref('legacy-reviews', 1)])), SEED)
    expect(rulesOf(pinned)[1].backendRefs).toEqual([ref('reviews-v1', 3), ref('legacy-reviews', 1)])
  })

  it('takes a backendRef to the service in another namespace only when it names the namespace', () => {
    const plan = parsePlan(
      `service: reviews\nrouter: HTTPRoute\nstable: v1\ncanary: v2\nrouting:\n  - name: reviews\n  - name: bookinfo\n    namespace: istio-ingress\nstages: [{weight: 5}]\n`
    )
    const ingress = {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'bookinfo-gateway' }],
      rules: [
        { name: 'local', matches: [PREFIX('/local')], backendRefs: [ref('reviews')] },
        {
          name: 'reviews',
          matches: [PREFIX('/reviews')],
          backendRefs: [ref('reviews', 1, { namespace: 'default' })]
        }
      ]
    }
    const current = { [KEY]: meshRoute(), 'istio-ingress/bookinfo': ingress }
    expect(router.validate(current, plan)).toEqual([])
    const target = router.pin(current, plan)
    const rules = rulesOf(target['istio-ingress/bookinfo'] as JsonObject)
    expect(rules[0]).toEqual(ingress.rules[0])
    expect(rules[1].backendRefs).toEqual([ref('reviews-v1', 100, { namespace: 'default' })])
    const staged = rulesOf(
      router.stage(target, target, plan, 1, 'v2')['istio-ingress/bookinfo'] as JsonObject
    )
    expect(staged[1].backendRefs).toEqual([
      ref('reviews-v1', 95, { namespace: 'default' }),
      ref('reviews-v2', 5, { namespace: 'default' })
    ])
  })
})

describe('stages', () => {
  it('stage 0 is the rollback target', () => {
    const target = router.pin(specs(meshRoute()), SEED)
    expect(router.stage(target, target, SEED, 0, 'v2')).toEqual(target)
  })

  it("a match stage inserts a copy of the rule right before it: each match gets the stage's headers, canary alone", () => {
    const rules = atStage(meshRoute(), SEED, 1)
    expect(rules.map(rule => rule.name)).toEqual(['ratings', 'reviews-api-test-user', 'reviews-api'])
    const cookie = { type: 'RegularExpression', name: 'cookie', value: TEST_USER_REGEX }
    expect(rules[1]).toEqual({
      name: 'reviews-api-test-user',
      matches: [
        { ...PREFIX('/reviews'), headers: [cookie] },
        { ...PREFIX('/api/reviews'), headers: [cookie] }
      ],
      filters: rulesOf(meshRoute())[1].filters,
      timeouts: { request: '5s' },
      backendRefs: [ref('reviews-v2', 100)]
    })
    expect(rules[2].backendRefs).toEqual([ref('reviews-v1', 100)])
  })

  it('exact headers become Exact matches; a rule without matches gets the default path match', () => {
    const plan = httpRoutePlan(['match: { headers: { x-canary: { exact: "yes" } } }', 'weight: 10'])
    const spec = { parentRefs: [MESH_PARENT], rules: [{ backendRefs: [ref('reviews')] }] }
    const [inserted] = atStage(spec, plan, 1)
    expect(inserted.name).toBe('reviews-test-user')
    expect(inserted.matches).toEqual([
      { ...PREFIX('/'), headers: [{ type: 'Exact', name: 'x-canary', value: 'yes' }] }
    ])
  })

  it('several match stages insert the later stage first; they stay until finalize', () => {
    const plan = httpRoutePlan([
      COOKIE_STAGE,
      'name: beta\n    match: { headers: { x-beta: { exact: "1" } } }',
      'weight: 20',
      'finalize: {}'
    ])
    expect(atStage(meshRoute(), plan, 3).map(rule => rule.name)).toEqual([
      'ratings',
      'reviews-api-beta',
      'reviews-api-test-user',
      'reviews-api'
    ])
    expect(atStage(meshRoute(), plan, 4).map(rule => rule.name)).toEqual(['ratings', 'reviews-api'])
  })

  it.each([
    [2, 95, 5],
    [3, 50, 50]
  ])('stage %i writes explicit weights %i/%i', (index, stable, canary) => {
    expect(atStage(meshRoute(), SEED, index)[2].backendRefs).toEqual([
      ref('reviews-v1', stable),
      ref('reviews-v2', canary)
    ])
  })

  it('at 100% and at finalize the canary backend alone carries the rule', () => {
    expect(atStage(meshRoute(), SEED, 4)[2].backendRefs).toEqual([ref('reviews-v2', 100)])
    const final = atStage(meshRoute(), SEED, 5)
    expect(final.map(rule => rule.name)).toEqual(['ratings', 'reviews-api'])
    expect(final[1].backendRefs).toEqual([ref('reviews-v2', 100)])
  })

  it("keeps the share of other backends exactly: the rule's weights are scaled so the split is whole", () => {
    const spec = meshRoute([ref('reviews', 1), ref('legacy-reviews', 1)])
    expect(atStage(spec, SEED, 2)[2].backendRefs).toEqual([
      ref('reviews-v1', 95),
      ref('reviews-v2', 5),
      ref('legacy-reviews', 100)
    ])
    expect(atStage(spec, SEED, 4)[2].backendRefs).toEqual([ref('reviews-v2', 1), ref('legacy-reviews', 1)])
    const quarter = meshRoute([ref('reviews', 75), ref('legacy-reviews', 25)])
    expect(atStage(quarter, SEED, 2)[2].backendRefs).toEqual([
      ref('reviews-v1', 285),
      ref('reviews-v2', 15),
      ref('legacy-reviews', 100)
    ])
  })

  it('a mirror stage adds a RequestMirror filter with the percent to the canary; the next stage removes it', () => {
    const plan = httpRoutePlan(['mirror: 25', 'weight: 10'])
    const mirrored = atStage(meshRoute(), plan, 1)[1]
    expect(mirrored.filters).toEqual([
      ...(rulesOf(meshRoute())[1].filters as JsonObject[]),
      {
        type: 'RequestMirror',
        requestMirror: {
          backendRef: { group: '', kind: 'Service', name: 'reviews-v2', port: 9080 },
          percent: 25
        }
      }
    ])
    expect(mirrored.backendRefs).toEqual([ref('reviews-v1', 100)])
    expect(atStage(meshRoute(), plan, 2)[1].filters).toEqual(rulesOf(meshRoute())[1].filters)
  })

  it('sessionAffinity: the canary backendRef sets the cookie and a sticky rule sends it to the canary, while split', () => {
    const plan = httpRoutePlan(
      ['weight: 10', 'weight: 100'],
      'sessionAffinity: { cookieName: canary, maxAge: 1h }\n'
    )
    const stableFilter = { type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: ['server'] } }
    const spec = meshRoute([ref('reviews-v1', 1, { filters: [stableFilter] })])
    const rules = atStage(spec, plan, 1)
    expect(rules.map(rule => rule.name)).toEqual(['ratings', 'reviews-api-sticky', 'reviews-api'])
    expect(rules[1].matches).toEqual([
      {
        ...PREFIX('/reviews'),
        headers: [{ type: 'RegularExpression', name: 'cookie', value: '^(.*?;\\s*)?canary=v2(;.*)?$' }]
      },
      {
        ...PREFIX('/api/reviews'),
        headers: [{ type: 'RegularExpression', name: 'cookie', value: '^(.*?;\\s*)?canary=v2(;.*)?$' }]
      }
    ])
    const [stable, canary] = rules[2].backendRefs as JsonObject[]
    expect(stable).toEqual(ref('reviews-v1', 90, { filters: [stableFilter] }))
    expect(canary.filters).toEqual([
      {
        type: 'ResponseHeaderModifier',
        responseHeaderModifier: {
          remove: ['server'],
          add: [{ name: 'Set-Cookie', value: 'canary=v2; Max-Age=3600; Path=/' }]
        }
      }
    ])
    const full = atStage(spec, plan, 2)
    expect(full.map(rule => rule.name)).toEqual(['ratings', 'reviews-api'])
    expect(JSON.stringify(full)).not.toContain('Set-Cookie')
  })

  it('rollback restores the pinned rules, keeping a rule someone added meanwhile', () => {
    const target = router.pin(specs(meshRoute()), SEED)
    const applied = router.stage(target, target, SEED, 3, 'v2')[KEY] as JsonObject
    const foreign = { name: 'details', matches: [PREFIX('/details')], backendRefs: [ref('details')] }
    const edited = { ...applied, rules: [foreign, ...rulesOf(applied)] }
    const restored = router.restore(specs(edited), target, SEED)
    expect(restored.reverted).toEqual([])
    expect(rulesOf(restored.specs[KEY] as JsonObject)).toEqual([foreign, ...rulesOf(target)])
  })

  it('reports the planned weight as applied (splits are exact)', () => {
    const target = router.pin(specs(meshRoute([ref('reviews', 7), ref('legacy-reviews', 3)])), SEED)
    expect([0, 1, 2, 3, 4, 5].map(index => router.appliedWeight(target, SEED, index))).toEqual([
      0, 0, 5, 50, 100, 100
    ])
  })
})

describe('validate', () => {
  const problems = (spec: JsonObject | null, plan = SEED) => router.validate({ [KEY]: spec }, plan)

  it('accepts the mesh route', () => expect(problems(meshRoute())).toEqual([]))

  it('refuses a missing route, a route without parents, and a route with no rule to the service', () => {
    expect(problems(null)).toEqual([
      'HTTPRoute default/reviews not found; create it, or set routing.name to the HTTPRoute that routes reviews'
    ])
    expect(problems({ ...meshRoute(), parentRefs: [] })[0]).toContain(
      'has no parentRefs, so it routes nothing'
    )
    expect(problems({ parentRefs: [MESH_PARENT], rules: [{ backendRefs: [ref('ratings')] }] })).toEqual([
      'HTTPRoute default/reviews: no rule has a backendRef to the Services reviews, reviews-v1, reviews-v2 in namespace default; add one, or name the rule in routing.route'
    ])
  })

  it('refuses an unknown rule name, listing the named rules, and a named rule that sends nothing to the service', () => {
    const named = httpRoutePlan(['weight: 5'], 'routing: { route: reviews }\n')
    expect(problems(meshRoute(), named)).toEqual([
      "HTTPRoute default/reviews: no rule named 'reviews' (rules: ratings, reviews-api); fix routing.route"
    ])
    const ratings = httpRoutePlan(['weight: 5'], 'routing: { route: ratings }\n')
    expect(problems(meshRoute(), ratings)[0]).toContain('spec.rules[0] sends no traffic to the Services')
  })

  it('refuses a rule already named like an inserted rule', () => {
    const spec = meshRoute()
    rulesOf(spec)[0].name = 'reviews-api-test-user'
    expect(problems(spec)).toEqual([
      "HTTPRoute default/reviews: a rule is already named 'reviews-api-test-user', the name of the rule stage 'test-user' adds; rename the stage or the rule"
    ])
  })

  it('refuses a stage header the rule already matches (the Gateway API reads only the first), and a cookie match with sessionAffinity', () => {
    const spec = meshRoute()
    ;(rulesOf(spec)[1].matches as JsonObject[])[1].headers = [{ type: 'Exact', name: 'Cookie', value: 'x' }]
    expect(problems(spec)[0]).toContain(
      "spec.rules[1] already matches header 'cookie', which stage 'test-user' also matches"
    )
    const sticky = httpRoutePlan(['weight: 5', 'weight: 100'], 'sessionAffinity: {}\n')
    expect(problems(spec, sticky)[0]).toContain('already matches the cookie header')
  })

  it('refuses a mirror stage on a rule that already mirrors', () => {
    const spec = meshRoute()
    rulesOf(spec)[1].filters = [
      { type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: 'shadow' } } }
    ]
    expect(problems(spec, httpRoutePlan(['mirror: 10', 'weight: 20']))[0]).toContain(
      'already has a RequestMirror filter'
    )
  })

  it('refuses a plan whose inserted rules would take the route over 16 rules', () => {
    const spec = meshRoute()
    const fillers = Array.from({ length: 13 }, (_, i) => ({
      name: `other-${i}`,
      matches: [PREFIX(`/other-${i}`)],
      backendRefs: [ref('details')]
    }))
    const full = { ...spec, rules: [...fillers, ...rulesOf(spec)] }
    expect(problems(full)).toEqual([])
    const twoStages = httpRoutePlan([
      COOKIE_STAGE,
      'name: beta\n    match: { headers: { x-beta: { exact: "1" } } }',
      'weight: 10'
    ])
    expect(problems(full, twoStages)).toEqual([
      'HTTPRoute default/reviews has 15 rules, and the plan inserts 2 before each of its 1 shifted rule(s): 17 rules, more than the 16 the Gateway API allows in one HTTPRoute; use fewer match stages, name one rule in routing.route, or move other rules to another HTTPRoute'
    ])
  })

  it('refuses inserted rules that would take the route over 128 matches', () => {
    const matches = Array.from({ length: 60 }, (_, i) => PREFIX(`/r${i}`))
    const spec = meshRoute()
    rulesOf(spec)[1].matches = matches
    const stages = httpRoutePlan([
      COOKIE_STAGE,
      'name: beta\n    match: { headers: { x-beta: { exact: "1" } } }',
      'weight: 10'
    ])
    expect(problems(spec, stages)[0]).toContain('bring its matches to 181, more than the 128')
  })
})

describe('splitProblems', () => {
  it('refuses a stable backendRef of weight 0 beside another backend', () => {
    const target = router.pin(specs(meshRoute([ref('reviews-v1', 0), ref('legacy-reviews', 1)])), SEED)
    expect(router.splitProblems(target, SEED)).toEqual([
      'HTTPRoute default/reviews spec.rules[1]: the stable backendRef has weight 0, so it carries no traffic for a weight stage to move; give it a weight'
    ])
    expect(router.splitProblems(router.pin(specs(meshRoute()), SEED), SEED)).toEqual([])
  })
})

describe('version selectors come from the backend Services', () => {
  function kubeWith(services: { name: string; selector?: Record<string, string> }[]): KubeClient {
    return {
      listServices: async () =>
        services.map(({ name, selector }) => ({ metadata: { name }, spec: selector ? { selector } : {} }))
    } as unknown as KubeClient
  }

  it("are the backend Services' spec.selector", async () => {
    const kube = kubeWith([
      { name: 'reviews', selector: { app: 'reviews' } },
      { name: 'reviews-v1', selector: { app: 'reviews', version: 'v1' } },
      { name: 'reviews-v2', selector: { app: 'reviews', version: 'v2' } }
    ])
    expect(await router.readVersionSelectors(kube, SEED)).toEqual({
      stable: { app: 'reviews', version: 'v1' },
      canary: { app: 'reviews', version: 'v2' }
    })
  })

  it('refuse a missing backend Service, and one without a selector', async () => {
    const missing = kubeWith([{ name: 'reviews-v1', selector: { app: 'reviews', version: 'v1' } }])
    await expect(router.readVersionSelectors(missing, SEED)).rejects.toThrow(
      "preconditions: the canary version's backend Service default/reviews-v2 not found; create it with a selector for v2's pods (e.g. app: reviews, version: v2), or name its Service in routing.backends"
    )
    const bare = kubeWith([{ name: 'reviews-v1', selector: { app: 'reviews' } }, { name: 'reviews-v2' }])
    await expect(router.readVersionSelectors(bare, SEED)).rejects.toThrow(
      'the backend Service default/reviews-v2 (canary, v2) has no selector'
    )
  })
})

describe('HTTPRoute plans', () => {
  const HEAD = 'service: reviews\nrouter: HTTPRoute\nstable: v1\ncanary: v2\n'

  it('fill the backends with <service>-<version> and the acceptance timeout with 60s', () => {
    const plan = parsePlan(`${HEAD}stages: [{weight: 5}]\n`)
    expect(plan.routing).toEqual({
      objects: [{ name: 'reviews', namespace: 'default' }],
      backends: { v1: 'reviews-v1', v2: 'reviews-v2' },
      acceptTimeoutMs: 60_000
    })
    const named = parsePlan(
      `${HEAD}routing:\n  name: bookinfo\n  route: reviews-api\n  backends: { v2: reviews-canary, v3: reviews-old }\n  acceptTimeout: 2m\nstages: [{weight: 5}]\n`
    )
    expect(named.routing).toEqual({
      objects: [{ name: 'bookinfo', namespace: 'default', route: 'reviews-api' }],
      backends: { v1: 'reviews-v1', v2: 'reviews-canary', v3: 'reviews-old' },
      acceptTimeoutMs: 120_000
    })
  })

  function failure(yaml: string): { field: string; message: string } {
    try {
      parsePlan(yaml)
    } catch (error) {
      if (error instanceof PlanError) return { field: error.field, message: error.message }
      throw error
    }
    throw new Error('the plan parsed')
  }

  it.each([
    [
      'a prefix header match',
      `${HEAD}stages:\n  - match: { headers: { x-user: { prefix: "beta." } } }\n`,
      'stages[0].match.headers.x-user.prefix',
      "has no Gateway API equivalent (an HTTPRoute header match is Exact or RegularExpression); write regex: 'beta\\..*' for the same requests"
    ],
    [
      'a mirror restricted to methods',
      `${HEAD}stages:\n  - mirror: { percent: 10, methods: [GET] }\n  - weight: 10\n`,
      'stages[0].mirror.methods',
      'cannot be expressed with HTTPRoute'
    ],
    [
      'versionLabel (a VirtualService and RouteRule field)',
      `${HEAD}versionLabel: track\nstages: [{weight: 5}]\n`,
      'versionLabel',
      'means nothing with router: HTTPRoute: versions are Services'
    ],
    [
      'a backend that is not a Service name',
      `${HEAD}routing: { backends: { v2: Reviews_V2 } }\nstages: [{weight: 5}]\n`,
      'routing.backends.v2',
      "must be a Service name (lowercase letters, digits and '-', starting with a letter, at most 63 characters); got 'Reviews_V2'"
    ],
    [
      'a version whose default backend is no Service name',
      'service: reviews\nrouter: HTTPRoute\nstable: v1\ncanary: v2.1\nstages: [{weight: 5}]\n',
      'routing.backends',
      "names no Service for version 'v2.1', and the default 'reviews-v2.1' is not a valid Service name; add v2.1: <the Service that selects v2.1's pods>"
    ],
    [
      "the service's own Service as a backend",
      `${HEAD}routing: { backends: { v1: reviews } }\nstages: [{weight: 5}]\n`,
      'routing.backends',
      "sends version 'v1' to 'reviews', the service's own Service, which selects every version's pods"
    ],
    [
      'one Service for both versions',
      `${HEAD}routing: { backends: { v1: reviews-all, v2: reviews-all } }\nstages: [{weight: 5}]\n`,
      'routing.backends',
      "names the same Service 'reviews-all' for v1 and v2"
    ],
    [
      'a zero acceptTimeout',
      `${HEAD}routing: { acceptTimeout: 0s }\nstages: [{weight: 5}]\n`,
      'routing.acceptTimeout',
      "must be longer than 0s; got '0s'"
    ],
    [
      'backends on the second routing entry',
      `${HEAD}routing:\n  - name: reviews\n  - name: bookinfo\n    backends: { v2: x }\nstages: [{weight: 5}]\n`,
      'routing[1].backends',
      "belongs on the first routing entry, which holds the release's backends"
    ],
    [
      'backends with a VirtualService',
      'service: reviews\nstable: v1\ncanary: v2\nrouting: { backends: { v2: reviews-v2 } }\nstages: [{weight: 5}]\n',
      'routing.backends',
      "unknown key 'backends'"
    ]
  ])('refuse %s, naming the field', (_what, yaml, field, message) => {
    const error = failure(yaml)
    expect(error.field).toBe(field)
    expect(error.message).toContain(message)
  })
})
