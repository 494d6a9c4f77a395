/** Property-based tests: random VirtualServices and ladders through pin and every stage. */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { Json, JsonObject } from '../../src/engine/json.js'
import { parsePlan } from '../../src/plan/plan-parser.js'
import type { Plan } from '../../src/plan/types.js'
import { RouteRuleRouter } from '../../src/routers/route-rule.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import { VirtualServiceRouter } from '../../src/routers/virtual-service.js'

const vs = new VirtualServiceRouter()
const rr = new RouteRuleRouter()
const RUNS = { numRuns: 300 }

// ---- generators ----------------------------------------------------------------------------------------

const token = fc.stringMatching(/^[a-z0-9]{1,8}$/)
const stringMatch = fc.oneof(
  token.map(exact => ({ exact })),
  token.map(prefix => ({ prefix })),
  token.map(value => ({ regex: `.*${value}.*` }))
)

/** Header names a stage matches on; routes' own match blocks use other names (see the header-conflict note). */
const stageHeaders = fc.dictionary(fc.constantFrom('cookie', 'x-beta', 'end-user', 'x-canary'), stringMatch, {
  minKeys: 1,
  maxKeys: 3
})

interface LadderSpec {
  namespace: string
  stages: JsonObject[]
}

/** A valid ladder: match and weight stages in any order, weights strictly increasing, maybe a finalize. */
const ladder: fc.Arbitrary<LadderSpec> = fc
  .record({
    namespace: fc.constantFrom('default', 'shop'),
    kinds: fc.array(fc.constantFrom('match', 'weight'), { maxLength: 6 }),
    finalize: fc.boolean(),
    deleteStable: fc.boolean()
  })
  .filter(({ kinds, finalize }) => kinds.length > 0 || finalize)
  .chain(({ namespace, kinds, finalize, deleteStable }) => {
    const weightCount = kinds.filter(kind => kind === 'weight').length
    const matchCount = kinds.length - weightCount
    return fc
      .record({
        weights: fc.uniqueArray(fc.integer({ min: 1, max: 100 }), {
          minLength: weightCount,
          maxLength: weightCount
        }),
        headers: fc.array(stageHeaders, { minLength: matchCount, maxLength: matchCount })
      })
      .map(({ weights, headers }) => {
        const sorted = [...weights].sort((a, b) => a - b)
        let w = 0
        let m = 0
        const stages = kinds.map(kind =>
          kind === 'weight' ? { weight: sorted[w++] } : { match: { headers: headers[m++] } }
        ) as unknown as JsonObject[]
        if (finalize) stages.push({ finalize: { deleteStable } })
        return { namespace, stages }
      })
  })

function planOf(ladderSpec: LadderSpec, extra: JsonObject = {}): Plan {
  // JSON is YAML: the generated plan goes through the real parser.
  return parsePlan(
    JSON.stringify({
      service: 'reviews',
      namespace: ladderSpec.namespace,
      stable: 'v1',
      canary: 'v2',
      ...extra,
      stages: ladderSpec.stages
    })
  )
}

function serviceHosts(namespace: string): string[] {
  return [
    'reviews',
    `reviews.${namespace}`,
    `reviews.${namespace}.svc`,
    `reviews.${namespace}.svc.cluster.local`
  ]
}
const OTHER_HOSTS = [
  'ratings',
  'reviews.other',
  'reviews.other.svc.cluster.local',
  'details.shop.svc.cluster.local'
]

const extraFields = fc.record(
  {
    timeout: fc.constantFrom('1s', '2.5s'),
    retries: fc.record({ attempts: fc.integer({ min: 1, max: 5 }), perTryTimeout: fc.constant('1s') }),
    rewrite: fc.record({ uri: fc.constantFrom('/', '/v1') }),
    headers: fc.record({ request: fc.record({ set: fc.dictionary(token, token, { maxKeys: 2 }) }) }),
    corsPolicy: fc.record({ allowMethods: fc.constant(['GET']) }),
    mirror: fc.record({ host: fc.constant('shadow') }),
    fault: fc.record({
      abort: fc.record({ httpStatus: fc.constant(503), percentage: fc.record({ value: fc.constant(1) }) })
    }),
    futureField: fc.jsonValue({ maxDepth: 2 })
  },
  { requiredKeys: [] }
)

const matchBlock = fc.record(
  {
    uri: fc.oneof(
      token.map(p => ({ prefix: `/${p}` })),
      token.map(e => ({ exact: `/${e}` }))
    ),
    method: fc.record({ exact: fc.constantFrom('GET', 'POST') }),
    headers: fc.dictionary(fc.constantFrom('x-route-a', 'x-route-b'), stringMatch, {
      minKeys: 1,
      maxKeys: 2
    }),
    sourceLabels: fc.record({ app: token }),
    ignoreUriCase: fc.boolean()
  },
  { requiredKeys: [] }
)

interface GeneratedRoute {
  /** True when some destination is the service. */
  toService: boolean
  route: JsonObject
}

/** n positive weights summing to 100. */
function weightsOf(n: number): fc.Arbitrary<number[]> {
  if (n === 1) return fc.constant([100])
  return fc
    .array(fc.integer({ min: 1, max: Math.floor(99 / (n - 1)) }), { minLength: n - 1, maxLength: n - 1 })
    .map(ws => [...ws, 100 - ws.reduce((a, b) => a + b, 0)])
}

function httpRoute(namespace: string): fc.Arbitrary<GeneratedRoute> {
  const serviceDest = fc.record(
    {
      host: fc.constantFrom(...serviceHosts(namespace)),
      subset: fc.constantFrom('v1', 'v2', 'v0'),
      port: fc.record({ number: fc.constantFrom(9080, 8080) })
    },
    { requiredKeys: ['host'] }
  )
  const otherDest = fc.record(
    { host: fc.constantFrom(...OTHER_HOSTS), subset: fc.constantFrom('v1', 'v2', 'a') },
    { requiredKeys: ['host'] }
  )
  return fc
    .record({
      dests: fc.array(
        fc.oneof(
          serviceDest.map(d => ({ ours: true, d })),
          otherDest.map(d => ({ ours: false, d }))
        ),
        {
          minLength: 1,
          maxLength: 4
        }
      ),
      singleWeight: fc.boolean(),
      match: fc.option(fc.array(matchBlock, { maxLength: 3 }), { nil: undefined }),
      extra: extraFields
    })
    .chain(({ dests, singleWeight, match, extra }) =>
      weightsOf(dests.length).map(weights => {
        const route = dests.map(({ d }, i) => ({
          destination: d as JsonObject,
          ...(dests.length > 1 || singleWeight ? { weight: weights[i] } : {})
        }))
        return {
          toService: dests.some(({ ours }) => ours),
          route: { ...(match !== undefined && { match }), ...extra, route } as unknown as JsonObject
        }
      })
    )
}

interface Case {
  ladder: LadderSpec
  spec: JsonObject
  plan: Plan
}

/** A VirtualService with some routes to the service and some not, and a plan for it. */
const vsCase: fc.Arbitrary<Case> = ladder.chain(ladderSpec =>
  fc
    .record({
      routes: fc.array(httpRoute(ladderSpec.namespace), { minLength: 1, maxLength: 5 }),
      named: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      byName: fc.boolean(),
      top: fc.record(
        {
          hosts: fc.constant(['reviews', 'reviews.example.com']),
          gateways: fc.constant(['mesh', 'istio-system/public']),
          exportTo: fc.constant(['.']),
          tcp: fc.constant([
            { match: [{ port: 9000 }], route: [{ destination: { host: 'reviews', subset: 'v0' } }] }
          ]),
          tls: fc.constant([
            { match: [{ sniHosts: ['r.example.com'] }], route: [{ destination: { host: 'reviews' } }] }
          ]),
          futureTopLevel: fc.jsonValue({ maxDepth: 2 })
        },
        { requiredKeys: ['hosts'] }
      )
    })
    .map(({ routes, named, byName, top }) => {
      const http = routes.map(({ route }, i) => (named[i] ? { name: `route-${i}`, ...route } : route))
      const candidate = routes.findIndex(({ toService }, i) => toService && named[i])
      const extra: JsonObject = byName && candidate >= 0 ? { routing: { route: `route-${candidate}` } } : {}
      return {
        ladder: ladderSpec,
        spec: { ...top, http } as unknown as JsonObject,
        plan: planOf(ladderSpec, extra)
      }
    })
    .filter(({ spec, plan }) => vs.validate({ reviews: spec }, plan).length === 0)
)

// ---- helpers ----------------------------------------------------------------------------------------------

function isOurs(host: Json | undefined, plan: Plan): boolean {
  return typeof host === 'string' && serviceHosts(plan.namespace).includes(host)
}
function destinationsOf(route: JsonObject): JsonObject[] {
  return (route.route ?? []) as JsonObject[]
}
function hostOf(d: JsonObject): Json | undefined {
  return (d.destination as JsonObject | undefined)?.host
}
function subsetOf(d: JsonObject): Json | undefined {
  return (d.destination as JsonObject | undefined)?.subset
}
/** The share of a route's traffic its service destinations carry; a lone destination without weight carries 100. */
function serviceShare(route: JsonObject, plan: Plan): number {
  const all = destinationsOf(route)
  return all
    .filter(d => isOurs(hostOf(d), plan))
    .reduce((sum, d) => sum + (typeof d.weight === 'number' ? d.weight : all.length === 1 ? 100 : NaN), 0)
}
function isShifted(route: JsonObject, plan: Plan): boolean {
  return plan.routing.route
    ? route.name === plan.routing.route
    : destinationsOf(route).some(d => isOurs(hostOf(d), plan))
}
/** What the first `index` stages amount to, computed independently of the router. */
function effectOf(plan: Plan, index: number) {
  const applied = plan.stages.slice(0, index)
  const finalized = applied.some(s => s.kind === 'finalize')
  const weights = applied.flatMap(s => (s.kind === 'weight' ? [s.weight] : []))
  const matches = applied.filter(s => s.kind === 'match')
  return {
    finalized,
    weight: finalized ? 100 : (weights.at(-1) ?? 0),
    matches: finalized ? [] : matches
  }
}
function withoutKeys(o: JsonObject, ...keys: string[]): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)))
}
function stagesOf(plan: Plan): number[] {
  return Array.from({ length: plan.stages.length + 1 }, (_, i) => i)
}

interface Walked {
  original: JsonObject
  out: JsonObject
  /** Routes inserted right before `out`, in output order. */
  inserted: JsonObject[]
}

/** Pairs each original route with its output route, given how many match routes precede each shifted route. */
function walk(original: JsonObject[], routes: JsonObject[], plan: Plan, matchCount: number): Walked[] {
  let pos = 0
  const walked = original.map(route => {
    const count = isShifted(route, plan) ? matchCount : 0
    const inserted = routes.slice(pos, pos + count)
    expect(inserted).toHaveLength(count)
    const out = routes[pos + count]
    expect(out).toBeDefined()
    pos += count + 1
    return { original: route, out, inserted }
  })
  expect(pos).toBe(routes.length)
  return walked
}

// ---- properties ------------------------------------------------------------------------------------------

describe('VirtualService router properties', () => {
  it('generated cases are valid plans on valid VirtualServices', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        expect(vs.validate({ reviews: spec }, plan)).toEqual([])
      }),
      { numRuns: 50 }
    )
  })

  it('pin is idempotent and never modifies its input', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const before = JSON.stringify(spec)
        const once = vs.pin({ reviews: spec }, plan)
        expect(JSON.stringify(spec)).toBe(before)
        expect(vs.pin(once, plan)).toEqual(once)
        expect(JSON.stringify(vs.pin(once, plan))).toBe(JSON.stringify(once))
      }),
      RUNS
    )
  })

  it('stage 0 is the rollback target, byte for byte', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const target = vs.pin({ reviews: spec }, plan)
        expect(JSON.stringify(vs.stageSpecs(target, plan, 0))).toBe(JSON.stringify(target))
      }),
      RUNS
    )
  })

  it('any stage then rollback leaves the routing as pinned', () => {
    fc.assert(
      fc.property(vsCase, fc.nat(), ({ spec, plan }, n) => {
        const target = vs.pin({ reviews: spec }, plan)
        const pinned = JSON.stringify(target)
        const stage = n % (plan.stages.length + 1)
        const applied = vs.stageSpecs(target, plan, stage)
        // Rolling back restores the target; computing stages never alters it.
        expect(JSON.stringify(target)).toBe(pinned)
        const restored = vs.stageSpecs(target, plan, 0)
        expect(restored).toEqual(vs.pin({ reviews: spec }, plan))
        // The stage only ever changed http routes.
        expect(withoutKeys(applied.reviews as JsonObject, 'http')).toEqual(
          withoutKeys(restored.reviews as JsonObject, 'http')
        )
      }),
      RUNS
    )
  })

  it('never changes non-http fields or unrelated routes, and inserts match routes right before shifted ones', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const target = vs.pin({ reviews: spec }, plan)
        const original = spec.http as JsonObject[]
        for (const index of stagesOf(plan)) {
          const out = vs.stageSpecs(target, plan, index).reviews as JsonObject
          expect(withoutKeys(out, 'http')).toEqual(withoutKeys(spec, 'http'))
          expect(Object.keys(out)).toEqual(Object.keys(spec))
          const { matches } = effectOf(plan, index)
          for (const { original: route, out: shifted, inserted } of walk(
            original,
            out.http as JsonObject[],
            plan,
            matches.length
          )) {
            if (!isShifted(route, plan)) {
              expect(JSON.stringify(shifted)).toBe(JSON.stringify(route))
              continue
            }
            // Later match stages first.
            ;[...matches].reverse().forEach((stage, k) => {
              const m = inserted[k]
              expect(withoutKeys(m, 'name', 'match', 'route')).toEqual(
                withoutKeys(route, 'name', 'match', 'route')
              )
              expect(typeof m.name).toBe('string')
              expect((m.name as string).endsWith(`-${stage.name}`)).toBe(true)
              const blocks = (route.match as JsonObject[] | undefined)?.length
                ? (route.match as JsonObject[])
                : [{}]
              expect(m.match).toEqual(
                blocks.map(block => ({
                  ...block,
                  headers: { ...((block.headers as JsonObject | undefined) ?? {}), ...stage.headers }
                }))
              )
              const canary = destinationsOf(m)
              expect(canary).toHaveLength(1)
              expect(isOurs(hostOf(canary[0]), plan)).toBe(true)
              expect(subsetOf(canary[0])).toBe(plan.canary)
              expect(canary[0].weight).toBeUndefined()
            })
            expect(withoutKeys(shifted, 'route')).toEqual(withoutKeys(route, 'route'))
          }
        }
      }),
      RUNS
    )
  })

  it('keeps the service share of every shifted route, on stable and canary only, with the stage weight', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const target = vs.pin({ reviews: spec }, plan)
        const original = spec.http as JsonObject[]
        for (const index of stagesOf(plan)) {
          const routes = (vs.stageSpecs(target, plan, index).reviews as JsonObject).http as JsonObject[]
          const effect = effectOf(plan, index)
          for (const { original: route, out } of walk(original, routes, plan, effect.matches.length)) {
            if (!isShifted(route, plan)) continue
            const share = serviceShare(route, plan)
            const ours = destinationsOf(out).filter(d => isOurs(hostOf(d), plan))
            const others = destinationsOf(out).filter(d => !isOurs(hostOf(d), plan))
            // Other destinations keep their place in the list, their weights and fields.
            expect(others).toEqual(destinationsOf(route).filter(d => !isOurs(hostOf(d), plan)))
            expect(serviceShare(out, plan)).toBe(share)
            for (const d of ours) expect([plan.stable, plan.canary]).toContain(subsetOf(d))
            const on = (subset: string) =>
              ours
                .filter(d => subsetOf(d) === subset)
                .reduce((sum, d) => sum + (typeof d.weight === 'number' ? d.weight : 100), 0)
            expect(on(plan.canary)).toBe(Math.round((share * effect.weight) / 100))
            expect(on(plan.stable)).toBe(share - Math.round((share * effect.weight) / 100))
            if (share === 100) expect(on(plan.canary)).toBe(effect.weight)
            // At most one destination per subset, none with weight 0.
            expect(ours.filter(d => subsetOf(d) === plan.stable).length).toBeLessThanOrEqual(1)
            expect(ours.filter(d => subsetOf(d) === plan.canary).length).toBeLessThanOrEqual(1)
            for (const d of ours) expect(d.weight).not.toBe(0)
          }
        }
      }),
      RUNS
    )
  })

  it('leaves every route unchanged when pinning a spec already on stable', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const target = vs.pin({ reviews: spec }, plan).reviews as JsonObject
        const alreadyStable = (spec.http as JsonObject[]).every(route => {
          const ours = destinationsOf(route).filter(d => isOurs(hostOf(d), plan))
          return !isShifted(route, plan) || (ours.length === 1 && subsetOf(ours[0]) === plan.stable)
        })
        if (alreadyStable) expect(JSON.stringify(target)).toBe(JSON.stringify(spec))
      }),
      RUNS
    )
  })
})

describe('RouteRule router properties', () => {
  const existingRule = fc.option(
    fc.oneof(
      fc.constant({
        destination: { name: 'reviews' },
        precedence: 1,
        route: [{ labels: { version: 'v1' } }]
      }),
      weightsOf(2).map(([a, b]) => ({
        destination: { name: 'reviews' },
        precedence: 1,
        route: [
          { labels: { version: 'v1' }, weight: a },
          { labels: { version: 'v2' }, weight: b }
        ]
      })),
      fc.constant({
        destination: { name: 'reviews' },
        precedence: 1,
        route: [{ labels: { version: 'v2' }, weight: 100 }]
      })
    ),
    { nil: undefined }
  )

  function total(spec: JsonObject): number {
    const route = spec.route as JsonObject[]
    return route.reduce(
      (sum, r) => sum + (typeof r.weight === 'number' ? r.weight : route.length === 1 ? 100 : NaN),
      0
    )
  }

  it('the default rule always totals 100 and match rules get precedence 2, 3, ...', () => {
    fc.assert(
      fc.property(ladder, existingRule, (ladderSpec, existing) => {
        const plan = planOf(ladderSpec, { router: 'RouteRule' })
        const current: RoutingSpecs = existing ? { 'reviews-default': existing as unknown as JsonObject } : {}
        const target = rr.pin(current, plan)
        expect(rr.pin(target, plan)).toEqual(target)
        expect(rr.stageSpecs(target, plan, 0)).toEqual(target)
        expect(Object.keys(target).sort()).toEqual([...rr.managedNames(plan)].sort())
        const matchNames = plan.stages.filter(s => s.kind === 'match').map(s => `reviews-${s.name}`)
        for (const index of stagesOf(plan)) {
          const specs = rr.stageSpecs(target, plan, index)
          const effect = effectOf(plan, index)
          const main = specs['reviews-default'] as JsonObject
          expect(total(main)).toBe(100)
          const canary = (main.route as JsonObject[])
            .filter(r => (r.labels as JsonObject).version === 'v2')
            .reduce((sum, r) => sum + (typeof r.weight === 'number' ? r.weight : 100), 0)
          expect(canary).toBe(effect.weight)
          matchNames.forEach((name, order) => {
            const active = effect.matches.some(s => `reviews-${s.name}` === name)
            if (!active) expect(specs[name]).toBeNull()
            else
              expect(specs[name]).toMatchObject({
                destination: { name: 'reviews' },
                precedence: 2 + order,
                route: [{ labels: { version: 'v2' } }]
              })
          })
        }
      }),
      RUNS
    )
  })
})
