import { describe, expect, it } from '@jest/globals'
import type { JsonObject } from '../../src/common/json.js'
import { parsePlan as parsePlanText } from '../../src/engine/plan-loader.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import {
  isServiceHost,
  shiftedRouteIndexes,
  virtualServiceRouter
} from '../../src/routers/virtual-service.js'
import { COOKIE_STAGE, dest, plan, TEST_USER_REGEX } from './fixtures.js'

const router = virtualServiceRouter
const KEY = 'default/reviews'
const COOKIE = { cookie: { regex: TEST_USER_REGEX } }

/** The seed plan: cookie match, 5%, 50%, 100%, finalize. */
const SEED = plan([
  COOKIE_STAGE,
  'weight: 5',
  'weight: 50',
  'weight: 100',
  'finalize: { deleteStable: true }'
])

function specs(spec: object): RoutingSpecs {
  return { [KEY]: spec as JsonObject }
}

/** The routing once stages 1..index are in effect, computed from the target alone (nothing else changed). */
function stageSpecs(target: RoutingSpecs, p: typeof SEED, index: number): RoutingSpecs {
  return router.stage(target, target, p, index, 'v2')
}

/** The spec of `reviews` after pin and then stage `index`. */
function atStage(spec: object, p = SEED, index = 0): JsonObject {
  const target = router.pin(specs(spec), p)
  return stageSpecs(target, p, index)[KEY] as JsonObject
}

/** A VirtualService with one simple route to reviews v1, and everything around it the router must leave alone. */
function bookinfo(): JsonObject {
  return {
    hosts: ['reviews', 'reviews.example.com'],
    gateways: ['mesh', 'istio-system/public'],
    exportTo: ['.'],
    http: [{ name: 'main', route: [dest('reviews', 'v1')] }],
    tcp: [{ match: [{ port: 9000 }], route: [dest('reviews', 'v1')] }],
    tls: [{ match: [{ port: 443, sniHosts: ['reviews.example.com'] }], route: [dest('reviews', 'v1')] }],
    somethingNew: { keep: ['me', 1, true, null] }
  }
}

describe('isServiceHost', () => {
  it.each(['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local'])(
    'accepts %s',
    host => expect(isServiceHost(host, { service: 'reviews', namespace: 'default' })).toBe(true)
  )
  it.each([
    'ratings',
    'reviews.other',
    'reviews.other.svc.cluster.local',
    'reviewsx',
    'reviews.default.svc.cluster',
    'x.reviews'
  ])('rejects %s', host =>
    expect(isServiceHost(host, { service: 'reviews', namespace: 'default' })).toBe(false)
  )
  it('rejects non-strings', () => {
    expect(isServiceHost(undefined, { service: 'reviews', namespace: 'default' })).toBe(false)
    expect(isServiceHost(42, { service: 'reviews', namespace: 'default' })).toBe(false)
  })
})

describe('pin', () => {
  it('leaves a route already on stable unchanged, byte for byte', () => {
    const spec = bookinfo()
    const before = JSON.stringify(spec)
    const pinned = router.pin(specs(spec), SEED)
    expect(JSON.stringify(pinned[KEY])).toBe(before)
    expect(JSON.stringify(spec)).toBe(before)
  })

  it('keeps a weight-100 stable destination as written', () => {
    const spec = { hosts: ['reviews'], http: [{ route: [dest('reviews', 'v1', 100)] }] }
    expect(router.pin(specs(spec), SEED)).toEqual(specs(spec))
  })

  it('collapses a 90/10 split to stable', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1', 90), dest('reviews', 'v2', 10)] }]
    }
    expect(router.pin(specs(spec), SEED)).toEqual({
      [KEY]: { hosts: ['reviews'], http: [{ route: [dest('reviews', 'v1')] }] }
    })
  })

  it('collapses a split whose first destination is the canary', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v2', 30), dest('reviews', 'v1', 70)] }]
    }
    expect(router.pin(specs(spec), SEED)[KEY]).toEqual({
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1')] }]
    })
  })

  it('puts a destination without subset on stable', () => {
    const spec = { hosts: ['reviews'], http: [{ route: [dest('reviews')] }] }
    expect(router.pin(specs(spec), SEED)[KEY]).toEqual({
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1')] }]
    })
  })

  it('keeps an extra non-service destination and its weight', () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        {
          route: [dest('reviews', 'v1', 60), dest('reviews', 'v2', 20), dest('ratings', 'v1', 20)]
        }
      ]
    }
    expect(router.pin(specs(spec), SEED)[KEY]).toEqual({
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1', 80), dest('ratings', 'v1', 20)] }]
    })
  })

  it('leaves a stable route with an extra destination unchanged', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1', 75), dest('legacy', undefined, 25)] }]
    }
    expect(router.pin(specs(spec), SEED)).toEqual(specs(spec))
  })

  it("keeps the stable destination's own fields, not the collapsed destination's port and headers", () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        {
          route: [
            {
              destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
              weight: 50,
              headers: { request: { set: { x: '1' } } }
            },
            { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 50 }
          ]
        }
      ]
    }
    expect(router.pin(specs(spec), SEED)[KEY]).toEqual({
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }] }]
    })
  })

  it('does not touch routes to other hosts, nor the input', () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        { route: [dest('ratings', 'v2', 50), dest('ratings', 'v1', 50)] },
        { route: [dest('reviews', 'v2')] }
      ]
    }
    const copy = structuredClone(spec)
    expect(router.pin(specs(spec), SEED)[KEY]).toEqual({
      hosts: ['reviews'],
      http: [
        { route: [dest('ratings', 'v2', 50), dest('ratings', 'v1', 50)] },
        { route: [dest('reviews', 'v1')] }
      ]
    })
    expect(spec).toEqual(copy)
  })

  it('with routing.route, pins only the named route', () => {
    const p = plan(['weight: 10'], 'routing: { route: api }\n')
    const spec = {
      hosts: ['reviews'],
      http: [
        { name: 'admin', route: [dest('reviews', 'v2')] },
        { name: 'api', route: [dest('reviews', 'v2', 10), dest('reviews', 'v1', 90)] }
      ]
    }
    expect(router.pin(specs(spec), p)[KEY]).toEqual({
      hosts: ['reviews'],
      http: [
        { name: 'admin', route: [dest('reviews', 'v2')] },
        { name: 'api', route: [dest('reviews', 'v1')] }
      ]
    })
  })

  it('is idempotent', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1', 60), dest('reviews', 'v2', 20), dest('x', 'a', 20)] }]
    }
    const once = router.pin(specs(spec), SEED)
    expect(router.pin(once, SEED)).toEqual(once)
  })
})

describe('stageSpecs', () => {
  it('stage 0 is the rollback target itself', () => {
    const target = router.pin(specs(bookinfo()), SEED)
    expect(stageSpecs(target, SEED, 0)).toEqual(target)
    expect(JSON.stringify(stageSpecs(target, SEED, 0))).toBe(JSON.stringify(target))
  })

  it('does not modify the target', () => {
    const target = router.pin(specs(bookinfo()), SEED)
    const copy = structuredClone(target)
    for (let index = 0; index <= SEED.stages.length; index++) stageSpecs(target, SEED, index)
    expect(target).toEqual(copy)
  })

  it('match stage inserts a canary route right before the shifted route', () => {
    expect(atStage(bookinfo(), SEED, 1)).toEqual({
      ...bookinfo(),
      http: [
        { name: 'main-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] },
        { name: 'main', route: [dest('reviews', 'v1')] }
      ]
    })
  })

  it('names the inserted route after the service when the shifted route has no name', () => {
    const spec = { hosts: ['reviews'], http: [{ route: [dest('reviews', 'v1')] }] }
    expect(atStage(spec, SEED, 1)).toEqual({
      hosts: ['reviews'],
      http: [
        { name: 'reviews-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] },
        { route: [dest('reviews', 'v1')] }
      ]
    })
  })

  it("match route keeps the route's match blocks, each AND-ed with the headers, and its other fields", () => {
    const fields = {
      rewrite: { uri: '/v1/reviews' },
      timeout: '3s',
      retries: { attempts: 3, perTryTimeout: '1s', retryOn: 'gateway-error,connect-failure' },
      headers: { request: { set: { 'x-canary': 'maybe' } }, response: { remove: ['server'] } },
      corsPolicy: { allowOrigins: [{ exact: 'https://example.com' }], allowMethods: ['GET'] },
      mirror: { host: 'reviews-shadow', subset: 'v1' },
      mirrorPercentage: { value: 5 },
      fault: { delay: { percentage: { value: 0.1 }, fixedDelay: '5s' } }
    }
    const spec = {
      hosts: ['reviews'],
      http: [
        {
          name: 'api',
          match: [
            { uri: { prefix: '/api' }, method: { exact: 'GET' } },
            { uri: { exact: '/health' }, headers: { 'x-env': { exact: 'prod' } } },
            { sourceLabels: { app: 'productpage' }, ignoreUriCase: true }
          ],
          ...fields,
          route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }]
        }
      ]
    }
    expect(atStage(spec, SEED, 1)).toEqual({
      hosts: ['reviews'],
      http: [
        {
          name: 'api-test-user',
          match: [
            { uri: { prefix: '/api' }, method: { exact: 'GET' }, headers: COOKIE },
            { uri: { exact: '/health' }, headers: { 'x-env': { exact: 'prod' }, ...COOKIE } },
            { sourceLabels: { app: 'productpage' }, ignoreUriCase: true, headers: COOKIE }
          ],
          ...fields,
          route: [{ destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } } }]
        },
        spec.http[0]
      ]
    })
  })

  it('several match stages insert routes with the later stages first', () => {
    const p = plan([
      COOKIE_STAGE,
      'name: beta\n    match: { headers: { x-beta: { exact: "yes" } } }',
      'match: { headers: { x-region: { prefix: eu- } } }',
      'weight: 20'
    ])
    const spec = { hosts: ['reviews'], http: [{ name: 'main', route: [dest('reviews', 'v1')] }] }
    const main = { name: 'main', route: [dest('reviews', 'v1')] }
    const cookie = { name: 'main-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] }
    const beta = {
      name: 'main-beta',
      match: [{ headers: { 'x-beta': { exact: 'yes' } } }],
      route: [dest('reviews', 'v2')]
    }
    const third = {
      name: 'main-match-3',
      match: [{ headers: { 'x-region': { prefix: 'eu-' } } }],
      route: [dest('reviews', 'v2')]
    }
    expect(atStage(spec, p, 1).http).toEqual([cookie, main])
    expect(atStage(spec, p, 2).http).toEqual([beta, cookie, main])
    expect(atStage(spec, p, 3).http).toEqual([third, beta, cookie, main])
    expect(atStage(spec, p, 4).http).toEqual([
      third,
      beta,
      cookie,
      { name: 'main', route: [dest('reviews', 'v1', 80), dest('reviews', 'v2', 20)] }
    ])
  })

  it('weight stages split the stable share and keep the match routes', () => {
    const cookie = { name: 'main-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] }
    expect(atStage(bookinfo(), SEED, 2)).toEqual({
      ...bookinfo(),
      http: [cookie, { name: 'main', route: [dest('reviews', 'v1', 95), dest('reviews', 'v2', 5)] }]
    })
    expect(atStage(bookinfo(), SEED, 3)).toEqual({
      ...bookinfo(),
      http: [cookie, { name: 'main', route: [dest('reviews', 'v1', 50), dest('reviews', 'v2', 50)] }]
    })
  })

  it('weight 100 sends the shifted route to the canary only', () => {
    expect(atStage(bookinfo(), SEED, 4)).toEqual({
      ...bookinfo(),
      http: [
        { name: 'main-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] },
        { name: 'main', route: [dest('reviews', 'v2', 100)] }
      ]
    })
  })

  it('finalize leaves only the canary and removes the match routes', () => {
    expect(atStage(bookinfo(), SEED, 5)).toEqual({
      ...bookinfo(),
      http: [{ name: 'main', route: [dest('reviews', 'v2')] }]
    })
  })

  it('finalize right after a match stage goes straight to the canary', () => {
    const p = plan([COOKIE_STAGE, 'finalize: {}'])
    expect(atStage(bookinfo(), p, 2).http).toEqual([{ name: 'main', route: [dest('reviews', 'v2')] }])
  })

  it('weight stages keep the destination fields (port) on both subsets', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } } }] }]
    }
    expect(atStage(spec, SEED, 2).http).toEqual([
      {
        name: 'reviews-test-user',
        match: [{ headers: COOKIE }],
        route: [{ destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } } }]
      },
      {
        route: [
          { destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } }, weight: 95 },
          { destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 5 }
        ]
      }
    ])
  })

  it('splits only the service share of a route with an extra destination', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [dest('reviews', 'v1', 80), dest('ratings', 'v1', 20)] }]
    }
    const p = plan([COOKIE_STAGE, 'weight: 5', 'weight: 50', 'weight: 100', 'finalize: {}'])
    expect(atStage(spec, p, 1).http).toEqual([
      { name: 'reviews-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] },
      spec.http[0]
    ])
    expect((atStage(spec, p, 2).http as JsonObject[])[1]).toEqual({
      route: [dest('reviews', 'v1', 76), dest('reviews', 'v2', 4), dest('ratings', 'v1', 20)]
    })
    expect((atStage(spec, p, 3).http as JsonObject[])[1]).toEqual({
      route: [dest('reviews', 'v1', 40), dest('reviews', 'v2', 40), dest('ratings', 'v1', 20)]
    })
    expect((atStage(spec, p, 4).http as JsonObject[])[1]).toEqual({
      route: [dest('reviews', 'v2', 80), dest('ratings', 'v1', 20)]
    })
    expect(atStage(spec, p, 5).http).toEqual([
      { route: [dest('reviews', 'v2', 80), dest('ratings', 'v1', 20)] }
    ])
  })

  it.each(['reviews.default.svc.cluster.local', 'reviews.default', 'reviews.default.svc'])(
    'shifts routes whose host is spelled %s, keeping the spelling',
    host => {
      const spec = { hosts: [host], http: [{ route: [dest(host, 'v1')] }] }
      expect(atStage(spec, SEED, 3)).toEqual({
        hosts: [host],
        http: [
          { name: 'reviews-test-user', match: [{ headers: COOKIE }], route: [dest(host, 'v2')] },
          { route: [dest(host, 'v1', 50), dest(host, 'v2', 50)] }
        ]
      })
      expect(atStage(spec, SEED, 5)).toEqual({ hosts: [host], http: [{ route: [dest(host, 'v2')] }] })
    }
  )

  it('shifts every route to the service, naming inserted routes by index when unnamed', () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        { match: [{ uri: { prefix: '/v2' } }], route: [dest('reviews.default.svc.cluster.local', 'v1')] },
        { name: 'other', match: [{ uri: { prefix: '/ratings' } }], route: [dest('ratings', 'v1')] },
        { match: [{ uri: { prefix: '/api' } }], route: [dest('reviews', 'v1')], timeout: '2s' },
        { name: 'rest', route: [dest('reviews.default', 'v1')] }
      ]
    }
    expect(shiftedRouteIndexes(specs(spec)[KEY], SEED)).toEqual([0, 2, 3])
    expect(atStage(spec, SEED, 2)).toEqual({
      hosts: ['reviews'],
      http: [
        {
          name: 'reviews-0-test-user',
          match: [{ uri: { prefix: '/v2' }, headers: COOKIE }],
          route: [dest('reviews.default.svc.cluster.local', 'v2')]
        },
        {
          match: [{ uri: { prefix: '/v2' } }],
          route: [
            dest('reviews.default.svc.cluster.local', 'v1', 95),
            dest('reviews.default.svc.cluster.local', 'v2', 5)
          ]
        },
        spec.http[1],
        {
          name: 'reviews-2-test-user',
          match: [{ uri: { prefix: '/api' }, headers: COOKIE }],
          timeout: '2s',
          route: [dest('reviews', 'v2')]
        },
        {
          match: [{ uri: { prefix: '/api' } }],
          route: [dest('reviews', 'v1', 95), dest('reviews', 'v2', 5)],
          timeout: '2s'
        },
        { name: 'rest-test-user', match: [{ headers: COOKIE }], route: [dest('reviews.default', 'v2')] },
        { name: 'rest', route: [dest('reviews.default', 'v1', 95), dest('reviews.default', 'v2', 5)] }
      ]
    })
  })

  it('with routing.route, shifts only the named one of two routes to the service', () => {
    const p = plan([COOKIE_STAGE, 'weight: 30', 'finalize: {}'], 'routing: { route: api }\n')
    const spec = {
      hosts: ['reviews'],
      http: [
        { name: 'admin', match: [{ uri: { prefix: '/admin' } }], route: [dest('reviews', 'v1')] },
        { name: 'api', route: [dest('reviews', 'v1')] }
      ]
    }
    expect(atStage(spec, p, 2)).toEqual({
      hosts: ['reviews'],
      http: [
        spec.http[0],
        { name: 'api-test-user', match: [{ headers: COOKIE }], route: [dest('reviews', 'v2')] },
        { name: 'api', route: [dest('reviews', 'v1', 70), dest('reviews', 'v2', 30)] }
      ]
    })
    expect(atStage(spec, p, 3)).toEqual({
      hosts: ['reviews'],
      http: [spec.http[0], { name: 'api', route: [dest('reviews', 'v2')] }]
    })
  })

  it('never touches hosts, gateways, tcp, tls, other routes or unknown fields', () => {
    const spec = bookinfo()
    ;(spec.http as JsonObject[]).unshift({
      name: 'ratings',
      route: [dest('ratings', 'v1', 50), dest('ratings', 'v2', 50)]
    })
    ;(spec.http as JsonObject[]).push({ name: 'tail', directResponse: { status: 404 } })
    for (let index = 0; index <= SEED.stages.length; index++) {
      const out = atStage(spec, SEED, index)
      const { http, ...rest } = out
      const { http: originalHttp, ...originalRest } = spec
      expect(rest).toEqual(originalRest)
      const routes = http as JsonObject[]
      expect(routes[0]).toEqual((originalHttp as JsonObject[])[0])
      expect(routes.at(-1)).toEqual((originalHttp as JsonObject[]).at(-1))
    }
  })

  it('uses a custom canary and stable subset name', () => {
    const p = parsePlanFor('stable: blue\ncanary: green\n', ['weight: 10'])
    const spec = { hosts: ['reviews'], http: [{ route: [dest('reviews', 'blue')] }] }
    expect(atStage(spec, p, 1).http).toEqual([
      { route: [dest('reviews', 'blue', 90), dest('reviews', 'green', 10)] }
    ])
  })
})

describe('validate', () => {
  it('accepts a VirtualService with a route to the service', () => {
    expect(router.validate(specs(bookinfo()), SEED)).toEqual([])
  })

  it('refuses a missing VirtualService', () => {
    expect(router.validate({ [KEY]: null }, SEED)).toEqual([
      'VirtualService default/reviews not found; create it, or set routing.name to the VirtualService that routes reviews'
    ])
    expect(router.validate({}, SEED)).toHaveLength(1)
  })

  it('refuses a VirtualService with no route to the service', () => {
    const spec = {
      hosts: ['reviews'],
      http: [{ route: [dest('ratings', 'v1')] }],
      tcp: [{ route: [dest('reviews', 'v1')] }]
    }
    expect(router.validate(specs(spec), SEED)).toEqual([
      'VirtualService default/reviews: no http route has a destination with host reviews; add one, or name the route in routing.route'
    ])
  })

  it('refuses a route to the service in another namespace', () => {
    const spec = { hosts: ['reviews'], http: [{ route: [dest('reviews.staging.svc.cluster.local', 'v1')] }] }
    expect(router.validate(specs(spec), SEED)).toHaveLength(1)
  })

  it('refuses an unknown route name, listing the named routes', () => {
    const p = plan(['weight: 10'], 'routing: { route: api }\n')
    const spec = {
      hosts: ['reviews'],
      http: [{ name: 'main', route: [dest('reviews', 'v1')] }, { route: [dest('x')] }]
    }
    expect(router.validate(specs(spec), p)).toEqual([
      "VirtualService default/reviews: no http route named 'api' (routes: main); fix routing.route"
    ])
  })

  it('refuses a named route that sends no traffic to the service', () => {
    const p = plan(['weight: 10'], 'routing: { route: api }\n')
    const spec = { hosts: ['reviews'], http: [{ name: 'api', route: [dest('ratings', 'v1')] }] }
    expect(router.validate(specs(spec), p)).toEqual([
      'VirtualService default/reviews: spec.http[0] sends no traffic to host reviews; name another route'
    ])
  })

  it('refuses a route already named like the route a match stage inserts', () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        { name: 'main-test-user', route: [dest('ratings', 'v1')] },
        { name: 'main', route: [dest('reviews', 'v1')] }
      ]
    }
    expect(router.validate(specs(spec), SEED)).toEqual([
      "VirtualService default/reviews: an http route is already named 'main-test-user', the name of the route stage 'test-user' adds; rename the stage or the route"
    ])
  })

  it('refuses a collision with the service-named inserted route of an unnamed route', () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        { name: 'reviews-test-user', route: [dest('ratings', 'v1')] },
        { route: [dest('reviews', 'v1')] }
      ]
    }
    expect(router.validate(specs(spec), SEED)).toHaveLength(1)
  })

  it('has no collision problem for a plan without match stages', () => {
    const spec = {
      hosts: ['reviews'],
      http: [
        { name: 'main-test-user', route: [dest('ratings', 'v1')] },
        { name: 'main', route: [dest('reviews', 'v1')] }
      ]
    }
    expect(router.validate(specs(spec), plan(['weight: 10']))).toEqual([])
  })
})

function parsePlanFor(head: string, stages: string[]) {
  return parsePlanText(`service: reviews\n${head}stages:\n${stages.map(s => `  - ${s}\n`).join('')}`)
}

describe('validate refuses what one route cannot express', () => {
  const router = virtualServiceRouter
  const KEY = 'default/reviews'
  const cookiePlan = parsePlanText(
    'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - match: { headers: { cookie: { regex: ".*user=test.*" } } }\n'
  )

  it('a stage header the shifted route already matches (the route condition would be lost)', () => {
    const spec: JsonObject = {
      hosts: ['reviews'],
      http: [
        {
          name: 'gold',
          match: [{ headers: { cookie: { regex: '.*tier=gold.*' } } }],
          route: [dest('reviews', 'v1')]
        },
        { name: 'rest', route: [dest('ratings')] }
      ]
    }
    const problems = router.validate({ [KEY]: spec }, cookiePlan)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/already matches header 'cookie'/)
  })

  it('two inserted routes that would get the same name', () => {
    const spec: JsonObject = {
      hosts: ['reviews'],
      http: [
        { match: [{ uri: { prefix: '/a' } }], route: [dest('reviews', 'v1')] },
        { name: 'reviews-0', route: [dest('reviews', 'v1')] }
      ]
    }
    const problems = router.validate({ [KEY]: spec }, cookiePlan)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/'reviews-0-test-user'/)
  })
})

describe('a VirtualService for the service with no http route yet', () => {
  const p = plan(['weight: 10'])
  const spec: JsonObject = { hosts: ['reviews'], tcp: [{ route: [dest('mongo')] }] }

  it('passes validation, and the pin creates the route to stable', () => {
    expect(router.validate({ [KEY]: spec }, p)).toEqual([])
    const target = router.pin({ [KEY]: spec }, p)
    expect(target[KEY]).toEqual({
      ...spec,
      http: [{ name: 'reviews', route: [{ destination: { host: 'reviews', subset: 'v1' } }] }]
    })
    expect((stageSpecs(target, p, 1)[KEY] as { http: unknown[] }).http).toEqual([
      {
        name: 'reviews',
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 90 },
          { destination: { host: 'reviews', subset: 'v2' }, weight: 10 }
        ]
      }
    ])
  })

  it('is refused when the VirtualService is for other hosts', () => {
    expect(router.validate({ [KEY]: { ...spec, hosts: ['ratings'] } }, p)).toHaveLength(1)
  })
})
