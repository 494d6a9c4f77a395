/** Property-based tests: random VirtualServices and ladders through pin and every stage. */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { Json, JsonObject } from '../../src/common/json.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import type { Plan } from '../../src/plan/types.js'
import { routeRuleRouter as rr } from '../../src/routers/route-rule.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import { virtualServiceRouter as vs } from '../../src/routers/virtual-service.js'

const RUNS = { numRuns: 300 }

/** The key of the plan's VirtualService `reviews` in routing specs. */
function keyOf(plan: Plan): string {
  return `${plan.namespace}/reviews`
}

/** The routing once stages 1..index are in effect, computed from the target alone. */
function stageSpecs(target: RoutingSpecs, plan: Plan, index: number): RoutingSpecs {
  return vs.stage(target, target, plan, index, 'v2')
}

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
    .filter(({ spec, plan }) => vs.validate({ [keyOf(plan)]: spec }, plan).length === 0)
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
  const named = plan.routing.objects[0].route
  return named ? route.name === named : destinationsOf(route).some(d => isOurs(hostOf(d), plan))
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
        expect(vs.validate({ [keyOf(plan)]: spec }, plan)).toEqual([])
      }),
      { numRuns: 50 }
    )
  })

  it('pin is idempotent and never modifies its input', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const before = JSON.stringify(spec)
        const once = vs.pin({ [keyOf(plan)]: spec }, plan)
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
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        expect(JSON.stringify(stageSpecs(target, plan, 0))).toBe(JSON.stringify(target))
      }),
      RUNS
    )
  })

  it('any stage then rollback leaves the routing as pinned', () => {
    fc.assert(
      fc.property(vsCase, fc.nat(), ({ spec, plan }, n) => {
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        const pinned = JSON.stringify(target)
        const stage = n % (plan.stages.length + 1)
        const applied = stageSpecs(target, plan, stage)
        // Rolling back restores the target; computing stages never alters it.
        expect(JSON.stringify(target)).toBe(pinned)
        const restored = vs.restore(applied, target, plan)
        expect(restored.reverted).toEqual([])
        expect(JSON.stringify(restored.specs)).toBe(pinned)
        // The stage only ever changed http routes.
        expect(withoutKeys(applied[keyOf(plan)] as JsonObject, 'http')).toEqual(
          withoutKeys(restored.specs[keyOf(plan)] as JsonObject, 'http')
        )
      }),
      RUNS
    )
  })

  it('never changes non-http fields or unrelated routes, and inserts match routes right before shifted ones', () => {
    fc.assert(
      fc.property(vsCase, ({ spec, plan }) => {
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        const original = spec.http as JsonObject[]
        for (const index of stagesOf(plan)) {
          const out = stageSpecs(target, plan, index)[keyOf(plan)] as JsonObject
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
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        const original = spec.http as JsonObject[]
        for (const index of stagesOf(plan)) {
          const routes = (stageSpecs(target, plan, index)[keyOf(plan)] as JsonObject).http as JsonObject[]
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
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)[keyOf(plan)] as JsonObject
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

/** The same cases with a mirror stage before the weights and, sometimes, sticky sessions. */
const trafficFeatureCase: fc.Arbitrary<Case> = fc
  .record({
    base: vsCase,
    mirror: fc.option(
      fc.record({
        percent: fc.integer({ min: 1, max: 100 }),
        methods: fc.option(fc.constant(['GET', 'HEAD']), { nil: undefined })
      }),
      { nil: undefined }
    ),
    sticky: fc.boolean()
  })
  .map(({ base, mirror, sticky }) => {
    const ladderStages = base.ladder.stages
    const firstWeight = ladderStages.findIndex(stage => 'weight' in stage)
    const stages = [...ladderStages]
    if (mirror) stages.splice(firstWeight === -1 ? 0 : firstWeight, 0, { mirror } as unknown as JsonObject)
    const splits = ladderStages.some(stage => typeof stage.weight === 'number' && stage.weight < 100)
    const named = base.plan.routing.objects[0].route
    const extra: JsonObject = {
      ...(named ? { routing: { route: named } } : {}),
      ...(sticky && splits ? { sessionAffinity: { cookieName: 'canary', maxAge: '1h' } } : {})
    }
    // A route that mirrors already, or matches the cookie, is refused with these features: drop those fields.
    const http = (base.spec.http as JsonObject[]).map(route =>
      withoutKeys(route, 'mirror', 'mirrorPercentage')
    )
    const spec = {
      ...base.spec,
      http: http.map(route =>
        JSON.stringify(route).includes('"cookie"') ? withoutKeys(route, 'match') : route
      )
    }
    return { ladder: { ...base.ladder, stages }, spec, plan: planOf({ ...base.ladder, stages }, extra) }
  })
  // What the engine refuses before any write: invalid routing, and weight stages that cannot move traffic.
  .filter(
    ({ spec, plan }) =>
      vs.validate({ [keyOf(plan)]: spec }, plan).length === 0 &&
      vs.splitProblems(vs.pin({ [keyOf(plan)]: spec }, plan), plan).length === 0
  )

describe('VirtualService router properties with mirror and sticky routes', () => {
  it('rollback from any stage is the identity on the pinned routing', () => {
    fc.assert(
      fc.property(trafficFeatureCase, fc.nat(), ({ spec, plan }, n) => {
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        const applied = stageSpecs(target, plan, n % (plan.stages.length + 1))
        const restored = vs.restore(applied, target, plan)
        expect(restored.reverted).toEqual([])
        expect(JSON.stringify(restored.specs)).toBe(JSON.stringify(target))
      }),
      RUNS
    )
  })

  it('a mirror stage copies to the canary on stable routes only, and the next stage removes it', () => {
    fc.assert(
      fc.property(trafficFeatureCase, ({ spec, plan }) => {
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        plan.stages.forEach((stage, position) => {
          const routes = (stageSpecs(target, plan, position + 1)[keyOf(plan)] as JsonObject)
            .http as JsonObject[]
          const mirrored = routes.filter(route => route.mirror !== undefined)
          if (stage.kind !== 'mirror') {
            expect(mirrored).toEqual([])
            return
          }
          expect(mirrored.length).toBeGreaterThan(0)
          for (const route of mirrored) {
            expect((route.mirror as JsonObject).subset).toBe(plan.canary)
            expect(route.mirrorPercentage).toEqual({ value: stage.percent })
            for (const d of destinationsOf(route))
              if (isOurs(hostOf(d), plan)) expect(subsetOf(d)).toBe(plan.stable)
            if (stage.methods) expect(JSON.stringify(route.match)).toContain('GET|HEAD')
          }
        })
      }),
      RUNS
    )
  })

  it('the sticky route sends the cookie of this revision to the canary only while traffic is split', () => {
    fc.assert(
      fc.property(trafficFeatureCase, ({ spec, plan }) => {
        const target = vs.pin({ [keyOf(plan)]: spec }, plan)
        for (const index of stagesOf(plan)) {
          const routes = (stageSpecs(target, plan, index)[keyOf(plan)] as JsonObject).http as JsonObject[]
          const sticky = routes.filter(
            route => typeof route.name === 'string' && route.name.endsWith('-sticky')
          )
          const effect = effectOf(plan, index)
          const splitting = plan.sessionAffinity !== undefined && effect.weight > 0 && effect.weight < 100
          expect(sticky.length > 0).toBe(splitting)
          for (const route of sticky) {
            expect(JSON.stringify(route.match)).toContain('canary=v2')
            for (const d of destinationsOf(route)) expect(subsetOf(d)).toBe(plan.canary)
          }
          const setsCookie = JSON.stringify(routes).includes('Max-Age=3600')
          expect(setsCookie).toBe(splitting)
        }
      }),
      RUNS
    )
  })
})

describe('the routes a release does not manage are never its to change', () => {
  it('a stage and a rollback keep edits to other routes and fields as they are now', () => {
    fc.assert(
      fc.property(vsCase, fc.nat(), fc.nat(), ({ spec, plan }, from, to) => {
        const key = keyOf(plan)
        const count = plan.stages.length + 1
        const target = vs.pin({ [key]: spec }, plan)
        const applied = stageSpecs(target, plan, from % count)[key] as JsonObject
        // Someone (another release, another team) adds a route and a host meanwhile.
        const foreign = {
          name: 'someone-else',
          match: [{ uri: { prefix: '/other' } }],
          route: [{ destination: { host: 'details' } }]
        }
        const edited = {
          ...applied,
          hosts: [...(applied.hosts as string[]), 'new.example.com'],
          http: [foreign, ...(applied.http as JsonObject[])]
        }
        const next = vs.stage({ [key]: edited }, target, plan, to % count, 'v2')[key] as JsonObject
        expect((next.http as JsonObject[])[0]).toEqual(foreign)
        expect(next.hosts).toEqual(edited.hosts)
        const restored = vs.restore({ [key]: edited }, target, plan)
        expect(restored.reverted).toEqual([])
        const pinned = target[key] as JsonObject
        expect(restored.specs[key]).toEqual({
          ...pinned,
          hosts: edited.hosts,
          http: [foreign, ...(pinned.http as JsonObject[])]
        })
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
        const ns = plan.namespace
        const current: RoutingSpecs = existing
          ? { [`${ns}/reviews-default`]: existing as unknown as JsonObject }
          : {}
        const target = rr.pin(current, plan)
        expect(rr.pin(target, plan)).toEqual(target)
        expect(rr.stage(target, target, plan, 0, 'v2')).toEqual(target)
        expect(Object.keys(target).sort()).toEqual(
          rr
            .objects(plan)
            .map(object => object.key)
            .sort()
        )
        const matchNames = plan.stages.filter(s => s.kind === 'match').map(s => `${ns}/reviews-${s.name}`)
        for (const index of stagesOf(plan)) {
          const specs = rr.stage(target, target, plan, index, 'v2')
          expect(rr.restore(specs, target, plan).specs).toEqual(target)
          const effect = effectOf(plan, index)
          const main = specs[`${ns}/reviews-default`] as JsonObject
          expect(total(main)).toBe(100)
          const canary = (main.route as JsonObject[])
            .filter(r => (r.labels as JsonObject).version === 'v2')
            .reduce((sum, r) => sum + (typeof r.weight === 'number' ? r.weight : 100), 0)
          expect(canary).toBe(effect.weight)
          matchNames.forEach((name, order) => {
            const active = effect.matches.some(s => `${ns}/reviews-${s.name}` === name)
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
