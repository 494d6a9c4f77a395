import { describe, expect, it } from '@jest/globals'
import type { JsonObject } from '../../src/common/json.js'
import { routeRuleRouter } from '../../src/routers/route-rule.js'
import { routerFor } from '../../src/routers/registry.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import { COOKIE_STAGE, plan, TEST_USER_REGEX } from './fixtures.js'

const router = routeRuleRouter

function stageSpecs(target: RoutingSpecs, p: typeof SEED, index: number): RoutingSpecs {
  return router.stage(target, target, p, index, 'v2')
}
const ROUTE_RULE = 'router: RouteRule\n'

/** The seed plan: the Istio 0.2 tutorial as stages. */
const SEED = plan([COOKIE_STAGE, 'weight: 50', 'weight: 100', 'finalize: { deleteStable: true }'], ROUTE_RULE)

// The tutorial's RouteRule specs, verbatim.
const DEFAULT_V1: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 1,
  route: [{ labels: { version: 'v1' } }]
}
const TEST_USER_V2: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 2,
  match: { request: { headers: { cookie: { regex: '^(.*?;)?(user=test-user)(;.*)?$' } } } },
  route: [{ labels: { version: 'v2' } }]
}
const DEFAULT_50_50: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 1,
  route: [
    { labels: { version: 'v1' }, weight: 50 },
    { labels: { version: 'v2' }, weight: 50 }
  ]
}
const DEFAULT_V2: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 1,
  route: [{ labels: { version: 'v2' }, weight: 100 }]
}

describe('RouteRule router: the Istio 0.2 tutorial', () => {
  const target = router.pin({}, SEED)

  it('names its objects after routing.name', () => {
    expect(router.objects(SEED).map(object => object.key)).toEqual([
      'default/reviews-default',
      'default/reviews-test-user'
    ])
    expect(router.resource).toEqual({
      group: 'config.istio.io',
      version: 'v1alpha2',
      plural: 'routerules',
      kind: 'RouteRule'
    })
    expect(routerFor('RouteRule')).toBe(routeRuleRouter)
  })

  it('pin creates reviews-default on v1 and no test rule', () => {
    expect(target).toEqual({ 'default/reviews-default': DEFAULT_V1, 'default/reviews-test-user': null })
  })

  it('stage 0 is the rollback target', () => {
    expect(stageSpecs(target, SEED, 0)).toEqual(target)
  })

  it('stage 1 adds reviews-test-user at precedence 2', () => {
    expect(stageSpecs(target, SEED, 1)).toEqual({
      'default/reviews-default': DEFAULT_V1,
      'default/reviews-test-user': TEST_USER_V2
    })
  })

  it('stage 2 splits reviews-default 50/50', () => {
    expect(stageSpecs(target, SEED, 2)).toEqual({
      'default/reviews-default': DEFAULT_50_50,
      'default/reviews-test-user': TEST_USER_V2
    })
  })

  it('stage 3 sends everything to v2', () => {
    expect(stageSpecs(target, SEED, 3)).toEqual({
      'default/reviews-default': DEFAULT_V2,
      'default/reviews-test-user': TEST_USER_V2
    })
  })

  it('finalize deletes the test rule', () => {
    expect(stageSpecs(target, SEED, 4)).toEqual({
      'default/reviews-default': DEFAULT_V2,
      'default/reviews-test-user': null
    })
  })

  it('writes the fields in the tutorial order', () => {
    const specs = stageSpecs(target, SEED, 2)
    expect(Object.keys(specs['default/reviews-test-user'] as JsonObject)).toEqual([
      'destination',
      'precedence',
      'match',
      'route'
    ])
    expect(Object.keys(specs['default/reviews-default'] as JsonObject)).toEqual([
      'destination',
      'precedence',
      'route'
    ])
  })

  it('reads version selectors from the app and version labels', async () => {
    // No Kubernetes call is needed for RouteRule.
    await expect(router.readVersionSelectors(undefined as never, SEED)).resolves.toEqual({
      stable: { app: 'reviews', version: 'v1' },
      canary: { app: 'reviews', version: 'v2' }
    })
  })
})

describe('RouteRule pin', () => {
  it('keeps an existing all-v1 rule unchanged', () => {
    const existing: JsonObject = {
      destination: { name: 'reviews', namespace: 'default' },
      precedence: 1,
      route: [{ labels: { version: 'v1' }, weight: 100 }],
      httpReqTimeout: { simpleTimeout: { timeout: '3s' } }
    }
    const before = JSON.stringify(existing)
    const pinned = router.pin({ 'default/reviews-default': existing }, SEED)
    expect(pinned).toEqual({ 'default/reviews-default': existing, 'default/reviews-test-user': null })
    expect(JSON.stringify(pinned['default/reviews-default'])).toBe(before)
  })

  it('keeps a rule whose only other version has weight 0', () => {
    const existing: JsonObject = {
      destination: { name: 'reviews' },
      precedence: 1,
      route: [
        { labels: { version: 'v1' }, weight: 100 },
        { labels: { version: 'v2' }, weight: 0 }
      ]
    }
    expect(router.pin({ 'default/reviews-default': existing }, SEED)['default/reviews-default']).toEqual(
      existing
    )
  })

  it('moves an existing split rule to v1, keeping its other fields', () => {
    const existing: JsonObject = {
      destination: { name: 'reviews' },
      precedence: 1,
      route: [
        { labels: { version: 'v1' }, weight: 80 },
        { labels: { version: 'v2' }, weight: 20 }
      ],
      httpReqRetries: { simpleRetry: { attempts: 3 } }
    }
    expect(router.pin({ 'default/reviews-default': existing }, SEED)).toEqual({
      'default/reviews-default': {
        destination: { name: 'reviews' },
        precedence: 1,
        route: [{ labels: { version: 'v1' } }],
        httpReqRetries: { simpleRetry: { attempts: 3 } }
      },
      'default/reviews-test-user': null
    })
  })

  it('is idempotent', () => {
    const once = router.pin({}, SEED)
    expect(router.pin(once, SEED)).toEqual(once)
  })

  it('uses routing.name and versionLabel', () => {
    const p = plan(['weight: 10'], `${ROUTE_RULE}routing: { name: rv }\nversionLabel: track\n`)
    const target = router.pin({}, p)
    expect(target).toEqual({
      'default/rv-default': {
        destination: { name: 'reviews' },
        precedence: 1,
        route: [{ labels: { track: 'v1' } }]
      }
    })
    expect(stageSpecs(target, p, 1)).toEqual({
      'default/rv-default': {
        destination: { name: 'reviews' },
        precedence: 1,
        route: [
          { labels: { track: 'v1' }, weight: 90 },
          { labels: { track: 'v2' }, weight: 10 }
        ]
      }
    })
  })
})

describe('RouteRule match stages', () => {
  const p = plan(
    [
      COOKIE_STAGE,
      'name: beta\n    match: { headers: { x-beta: { exact: "1" }, x-region: { prefix: eu } } }',
      'weight: 25'
    ],
    ROUTE_RULE
  )

  it('get precedence 2 and 3', () => {
    const target = router.pin({}, p)
    expect(router.objects(p).map(object => object.key)).toEqual([
      'default/reviews-default',
      'default/reviews-test-user',
      'default/reviews-beta'
    ])
    const beta: JsonObject = {
      destination: { name: 'reviews' },
      precedence: 3,
      match: { request: { headers: { 'x-beta': { exact: '1' }, 'x-region': { prefix: 'eu' } } } },
      route: [{ labels: { version: 'v2' } }]
    }
    expect(stageSpecs(target, p, 1)).toEqual({
      'default/reviews-default': DEFAULT_V1,
      'default/reviews-test-user': TEST_USER_V2,
      'default/reviews-beta': null
    })
    expect(stageSpecs(target, p, 2)).toEqual({
      'default/reviews-default': DEFAULT_V1,
      'default/reviews-test-user': TEST_USER_V2,
      'default/reviews-beta': beta
    })
    expect(stageSpecs(target, p, 3)).toEqual({
      'default/reviews-default': {
        destination: { name: 'reviews' },
        precedence: 1,
        route: [
          { labels: { version: 'v1' }, weight: 75 },
          { labels: { version: 'v2' }, weight: 25 }
        ]
      },
      'default/reviews-test-user': TEST_USER_V2,
      'default/reviews-beta': beta
    })
  })

  it('uses the match stage regex verbatim', () => {
    const specs: RoutingSpecs = stageSpecs(router.pin({}, p), p, 1)
    expect(specs['default/reviews-test-user']).toMatchObject({
      match: { request: { headers: { cookie: { regex: TEST_USER_REGEX } } } }
    })
  })
})

describe('RouteRule validate', () => {
  it('accepts an existing default rule', () => {
    expect(router.validate({ 'default/reviews-default': DEFAULT_V1 }, SEED)).toEqual([])
    expect(router.validate({}, SEED)).toEqual([])
  })

  it('refuses an existing reviews-test-user rule', () => {
    expect(
      router.validate(
        { 'default/reviews-default': DEFAULT_V1, 'default/reviews-test-user': TEST_USER_V2 },
        SEED
      )
    ).toEqual([
      'RouteRule default/reviews-test-user already exists and is not part of this release; delete it or rename the stage'
    ])
  })

  it('treats a null entry as absent', () => {
    expect(router.validate({ 'default/reviews-test-user': null }, SEED)).toEqual([])
  })
})

describe('RouteRule match rules rank above an existing default rule', () => {
  it('uses the default rule precedence plus one', () => {
    const p = plan([COOKIE_STAGE, 'weight: 50'], ROUTE_RULE)
    const existing: JsonObject = {
      destination: { name: 'reviews' },
      precedence: 5,
      route: [{ labels: { version: 'v1' } }]
    }
    const target = router.pin({ 'default/reviews-default': existing, 'default/reviews-test-user': null }, p)
    const stage1 = stageSpecs(target, p, 1)
    expect(stage1['default/reviews-default']).toEqual(existing)
    expect((stage1['default/reviews-test-user'] as JsonObject).precedence).toBe(6)
  })
})
