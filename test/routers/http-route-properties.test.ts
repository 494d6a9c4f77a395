/**
 * Property-based tests of the HTTPRoute router, as for the VirtualService router: random routes and ladders
 * through pin and every stage. Restore is the identity, parentRefs and unrelated rules never change, weights
 * keep each rule's share (Gateway API weights are relative), pin is idempotent.
 */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { JsonObject } from '../../src/common/json.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import type { Plan } from '../../src/plan/types.js'
import { httpRouteRouter as hr } from '../../src/routers/http-route.js'
import type { RoutingSpecs } from '../../src/routers/router.js'

const RUNS = { numRuns: 300 }

const keyOf = (plan: Plan) => `${plan.namespace}/reviews`
const stageSpecs = (target: RoutingSpecs, plan: Plan, index: number) =>
  hr.stage(target, target, plan, index, 'v2')

// ---- generators ----------------------------------------------------------------------------------------

const token = fc.stringMatching(/^[a-z0-9]{1,8}$/)
const stringMatch = fc.oneof(
  token.map(exact => ({ exact })),
  token.map(value => ({ regex: `.*${value}.*` }))
)
const stageHeaders = fc.dictionary(fc.constantFrom('cookie', 'x-beta', 'end-user', 'x-canary'), stringMatch, {
  minKeys: 1,
  maxKeys: 3
})

interface LadderSpec {
  namespace: string
  stages: JsonObject[]
  /** routing.backends names reviews-v0 as a third version, which shifted rules may also send to. */
  withV0: boolean
}

const ladder: fc.Arbitrary<LadderSpec> = fc
  .record({
    namespace: fc.constantFrom('default', 'shop'),
    kinds: fc.array(fc.constantFrom('match', 'weight'), { maxLength: 5 }),
    finalize: fc.boolean(),
    withV0: fc.boolean()
  })
  .filter(({ kinds, finalize }) => kinds.length > 0 || finalize)
  .chain(({ namespace, kinds, finalize, withV0 }) => {
    const weightCount = kinds.filter(kind => kind === 'weight').length
    return fc
      .record({
        weights: fc.uniqueArray(fc.integer({ min: 1, max: 100 }), {
          minLength: weightCount,
          maxLength: weightCount
        }),
        headers: fc.array(stageHeaders, {
          minLength: kinds.length - weightCount,
          maxLength: kinds.length - weightCount
        })
      })
      .map(({ weights, headers }) => {
        const sorted = [...weights].sort((a, b) => a - b)
        let w = 0
        let m = 0
        const stages = kinds.map(kind =>
          kind === 'weight' ? { weight: sorted[w++] } : { match: { headers: headers[m++] } }
        ) as unknown as JsonObject[]
        if (finalize) stages.push({ finalize: {} })
        return { namespace, stages, withV0 }
      })
  })

function planOf(ladderSpec: LadderSpec, extra: JsonObject = {}): Plan {
  const routing = (extra.routing ?? {}) as JsonObject
  return parsePlan(
    JSON.stringify({
      service: 'reviews',
      router: 'HTTPRoute',
      namespace: ladderSpec.namespace,
      stable: 'v1',
      canary: 'v2',
      ...extra,
      routing: { ...routing, ...(ladderSpec.withV0 && { backends: { v0: 'reviews-v0' } }) },
      stages: ladderSpec.stages
    })
  )
}

const SERVICE_NAMES = ['reviews', 'reviews-v1', 'reviews-v2', 'reviews-v0']

const backendRef = fc
  .record(
    {
      name: fc.constantFrom(...SERVICE_NAMES, 'ratings', 'details'),
      namespace: fc.constantFrom('other'),
      port: fc.constantFrom(9080, 8080),
      weight: fc.integer({ min: 0, max: 12 }),
      defaults: fc.boolean(),
      filters: fc.constant([
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-b', value: '1' }] } }
      ])
    },
    { requiredKeys: ['name', 'defaults'] }
  )
  .map(
    ({ defaults, ...ref }) =>
      (defaults ? { group: '', kind: 'Service', ...ref } : ref) as unknown as JsonObject
  )

const matchBlock = fc.record(
  {
    path: fc.oneof(
      token.map(p => ({ type: 'PathPrefix', value: `/${p}` })),
      token.map(e => ({ type: 'Exact', value: `/${e}` }))
    ),
    method: fc.constantFrom('GET', 'POST'),
    headers: fc.array(
      fc.record({
        type: fc.constant('Exact'),
        name: fc.constantFrom('x-route-a', 'x-route-b'),
        value: token
      }),
      { maxLength: 2 }
    ),
    queryParams: fc.constant([{ type: 'Exact', name: 'q', value: '1' }])
  },
  { requiredKeys: [] }
)

const rule = fc.record(
  {
    matches: fc.array(matchBlock, { maxLength: 3 }),
    filters: fc.constant([{ type: 'URLRewrite', urlRewrite: { hostname: 'reviews.example.com' } }]),
    timeouts: fc.record({ request: fc.constantFrom('5s', '10s') }),
    futureField: fc.jsonValue({ maxDepth: 2 }),
    backendRefs: fc.array(backendRef, { minLength: 1, maxLength: 4 })
  },
  { requiredKeys: ['backendRefs'] }
)

interface Case {
  spec: JsonObject
  plan: Plan
}

const httpRouteCase: fc.Arbitrary<Case> = ladder.chain(ladderSpec =>
  fc
    .record({
      rules: fc.array(rule, { minLength: 1, maxLength: 5 }),
      named: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      byName: fc.boolean(),
      hostnames: fc.option(fc.constant(['reviews.example.com']), { nil: undefined }),
      future: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })
    })
    .map(({ rules, named, byName, hostnames, future }) => {
      const all = rules.map((r, i) => (named[i] ? { name: `rule-${i}`, ...r } : r)) as unknown as JsonObject[]
      const candidate = all.findIndex(r => typeof r.name === 'string')
      const extra: JsonObject = byName && candidate >= 0 ? { routing: { route: `rule-${candidate}` } } : {}
      const spec = {
        parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
        ...(hostnames && { hostnames }),
        ...(future !== undefined && { futureTopLevel: future }),
        rules: all
      } as unknown as JsonObject
      return { spec, plan: planOf(ladderSpec, extra) }
    })
    .filter(({ spec, plan }) => {
      const current = { [keyOf(plan)]: spec }
      return (
        hr.validate(current, plan).length === 0 && hr.splitProblems(hr.pin(current, plan), plan).length === 0
      )
    })
)

// ---- helpers ----------------------------------------------------------------------------------------------

const refsOf = (r: JsonObject) => (r.backendRefs ?? []) as JsonObject[]
const weightOf = (ref: JsonObject) => (typeof ref.weight === 'number' ? ref.weight : 1)

function isOurs(ref: JsonObject, plan: Plan): boolean {
  const names = new Set([
    'reviews',
    'reviews-v1',
    'reviews-v2',
    ...Object.values(plan.routing.backends ?? {})
  ])
  return (
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace ?? plan.namespace) === plan.namespace &&
    names.has(String(ref.name))
  )
}
function isShifted(r: JsonObject, plan: Plan): boolean {
  const named = plan.routing.objects[0].route
  return named ? r.name === named : refsOf(r).some(ref => isOurs(ref, plan))
}
/** The service's share of a rule's traffic, 0..1 (weights are relative). */
function serviceShare(r: JsonObject, plan: Plan): number {
  const total = refsOf(r).reduce((sum, ref) => sum + weightOf(ref), 0)
  const ours = refsOf(r)
    .filter(ref => isOurs(ref, plan))
    .reduce((sum, ref) => sum + weightOf(ref), 0)
  return total === 0 ? 0 : ours / total
}
function effectOf(plan: Plan, index: number) {
  const applied = plan.stages.slice(0, index)
  const finalized = applied.some(s => s.kind === 'finalize')
  const weights = applied.flatMap(s => (s.kind === 'weight' ? [s.weight] : []))
  return {
    weight: finalized ? 100 : (weights.at(-1) ?? 0),
    matches: finalized ? [] : applied.filter(s => s.kind === 'match')
  }
}
function withoutKeys(o: JsonObject, ...keys: string[]): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)))
}
const stagesOf = (plan: Plan) => Array.from({ length: plan.stages.length + 1 }, (_, i) => i)

/** Pairs each original rule with its output rule and the rules inserted right before it. */
function walk(original: JsonObject[], out: JsonObject[], plan: Plan, insertedCount: number) {
  let pos = 0
  const walked = original.map(r => {
    const count = isShifted(r, plan) ? insertedCount : 0
    const inserted = out.slice(pos, pos + count)
    const shifted = out[pos + count]
    expect(shifted).toBeDefined()
    pos += count + 1
    return { original: r, out: shifted, inserted }
  })
  expect(pos).toBe(out.length)
  return walked
}

// ---- properties ------------------------------------------------------------------------------------------

describe('HTTPRoute router properties', () => {
  it('pin is idempotent and never modifies its input', () => {
    fc.assert(
      fc.property(httpRouteCase, ({ spec, plan }) => {
        const before = JSON.stringify(spec)
        const once = hr.pin({ [keyOf(plan)]: spec }, plan)
        expect(JSON.stringify(spec)).toBe(before)
        expect(JSON.stringify(hr.pin(once, plan))).toBe(JSON.stringify(once))
      }),
      RUNS
    )
  })

  it('stage 0 is the rollback target, and rollback from any stage is the identity on it', () => {
    fc.assert(
      fc.property(httpRouteCase, fc.nat(), ({ spec, plan }, n) => {
        const target = hr.pin({ [keyOf(plan)]: spec }, plan)
        const pinned = JSON.stringify(target)
        expect(JSON.stringify(stageSpecs(target, plan, 0))).toBe(pinned)
        const applied = stageSpecs(target, plan, n % (plan.stages.length + 1))
        expect(JSON.stringify(target)).toBe(pinned)
        const restored = hr.restore(applied, target, plan)
        expect(restored.reverted).toEqual([])
        expect(JSON.stringify(restored.specs)).toBe(pinned)
      }),
      RUNS
    )
  })

  it('never changes parentRefs, other fields or unrelated rules; inserted rules are copies right before shifted ones', () => {
    fc.assert(
      fc.property(httpRouteCase, ({ spec, plan }) => {
        const target = hr.pin({ [keyOf(plan)]: spec }, plan)
        const original = spec.rules as JsonObject[]
        for (const index of stagesOf(plan)) {
          const out = stageSpecs(target, plan, index)[keyOf(plan)] as JsonObject
          expect(withoutKeys(out, 'rules')).toEqual(withoutKeys(spec, 'rules'))
          expect(Object.keys(out)).toEqual(Object.keys(spec))
          const { matches } = effectOf(plan, index)
          for (const { original: r, out: shifted, inserted } of walk(
            original,
            out.rules as JsonObject[],
            plan,
            matches.length
          )) {
            if (!isShifted(r, plan)) {
              expect(JSON.stringify(shifted)).toBe(JSON.stringify(r))
              continue
            }
            ;[...matches].reverse().forEach((stage, k) => {
              const copy = inserted[k]
              expect(copy.name).toMatch(new RegExp(`-${stage.name}$`))
              expect(withoutKeys(copy, 'name', 'matches', 'backendRefs')).toEqual(
                withoutKeys(r, 'name', 'matches', 'backendRefs')
              )
              const fallback: JsonObject[] = [{ path: { type: 'PathPrefix', value: '/' } }]
              const blocks = (r.matches as JsonObject[] | undefined)?.length
                ? (r.matches as JsonObject[])
                : fallback
              const stageMatches = Object.entries(stage.headers).map(([name, m]) =>
                'exact' in m
                  ? { type: 'Exact', name, value: m.exact }
                  : { type: 'RegularExpression', name, value: (m as { regex: string }).regex }
              )
              expect(copy.matches).toEqual(
                blocks.map(block => ({
                  ...block,
                  headers: [...((block.headers as JsonObject[]) ?? []), ...stageMatches]
                }))
              )
              expect(refsOf(copy)).toHaveLength(1)
              expect(refsOf(copy)[0]).toMatchObject({ name: 'reviews-v2', weight: 100 })
            })
            expect(withoutKeys(shifted, 'backendRefs')).toEqual(withoutKeys(r, 'backendRefs'))
          }
        }
      }),
      RUNS
    )
  })

  it("keeps each shifted rule's service share, splits it exactly by the stage weight, and scales the others alike", () => {
    fc.assert(
      fc.property(httpRouteCase, ({ spec, plan }) => {
        const target = hr.pin({ [keyOf(plan)]: spec }, plan)
        const original = spec.rules as JsonObject[]
        const pinnedRules = (target[keyOf(plan)] as JsonObject).rules as JsonObject[]
        for (const index of stagesOf(plan)) {
          const out = (stageSpecs(target, plan, index)[keyOf(plan)] as JsonObject).rules as JsonObject[]
          const { weight, matches } = effectOf(plan, index)
          walk(original, out, plan, matches.length).forEach(({ original: r, out: shifted }, position) => {
            if (!isShifted(r, plan) || !refsOf(r).some(ref => isOurs(ref, plan))) return
            const share = serviceShare(r, plan)
            const others = refsOf(r).filter(ref => !isOurs(ref, plan))
            const othersCarry = others.some(ref => weightOf(ref) > 0)
            // A rule whose backendRefs all weigh 0 answers every request with an error: it has no share to keep.
            if (!refsOf(r).some(ref => weightOf(ref) > 0)) return
            // The share of the service (1 when it has the rule alone) stays what it was.
            expect(serviceShare(shifted, plan)).toBeCloseTo(othersCarry ? share : 1, 12)
            const ours = refsOf(shifted).filter(ref => isOurs(ref, plan))
            const on = (name: string) =>
              ours.filter(ref => ref.name === name).reduce((sum, ref) => sum + weightOf(ref), 0)
            const oursTotal = on('reviews-v1') + on('reviews-v2')
            expect(oursTotal).toBe(ours.reduce((sum, ref) => sum + weightOf(ref), 0))
            if (weight > 0) expect(on('reviews-v2') * 100).toBe(weight * oursTotal)
            else expect(refsOf(shifted)).toEqual(refsOf(pinnedRules[position]))
            // Explicit weights wherever a stage split the rule (a rule already on stable keeps what it had).
            for (const ref of weight > 0 ? ours : []) {
              expect(typeof ref.weight).toBe('number')
              if (share > 0 || !othersCarry) expect(ref.weight).toBeGreaterThan(0)
            }
            if (weight === 100) expect(on('reviews-v1')).toBe(0)
            expect(ours.filter(ref => ref.name === 'reviews-v1').length).toBeLessThanOrEqual(1)
            expect(ours.filter(ref => ref.name === 'reviews-v2').length).toBeLessThanOrEqual(1)
            // Other backends keep their order, fields and relative weights.
            const outOthers = refsOf(shifted).filter(ref => !isOurs(ref, plan))
            expect(outOthers.map(ref => withoutKeys(ref, 'weight'))).toEqual(
              others.map(ref => withoutKeys(ref, 'weight'))
            )
            const carrying = others.findIndex(ref => weightOf(ref) > 0)
            const factor = carrying === -1 ? 1 : weightOf(outOthers[carrying]) / weightOf(others[carrying])
            expect(Number.isInteger(factor)).toBe(true)
            outOthers.forEach((ref, i) => expect(weightOf(ref)).toBe(weightOf(others[i]) * factor))
          })
        }
      }),
      RUNS
    )
  })

  it('leaves every rule unchanged when pinning a route already on the stable backend alone', () => {
    fc.assert(
      fc.property(httpRouteCase, ({ spec, plan }) => {
        const alreadyStable = (spec.rules as JsonObject[]).every(r => {
          const ours = refsOf(r).filter(ref => isOurs(ref, plan))
          return !isShifted(r, plan) || (ours.length === 1 && ours[0].name === 'reviews-v1')
        })
        if (alreadyStable) {
          expect(JSON.stringify(hr.pin({ [keyOf(plan)]: spec }, plan)[keyOf(plan)])).toBe(
            JSON.stringify(spec)
          )
        }
      }),
      RUNS
    )
  })
})

/** The same cases with a mirror stage before the weights and, sometimes, sticky sessions. */
const trafficFeatureCase: fc.Arbitrary<Case> = fc
  .record({
    base: httpRouteCase,
    mirror: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
    sticky: fc.boolean()
  })
  .map(({ base, mirror, sticky }) => {
    const stages = base.plan.stages.map(stage => {
      if (stage.kind === 'weight') return { name: stage.name, weight: stage.weight }
      if (stage.kind === 'match') return { name: stage.name, match: { headers: stage.headers } }
      return { name: stage.name, finalize: {} }
    }) as unknown as JsonObject[]
    const firstWeight = stages.findIndex(stage => 'weight' in stage)
    if (mirror) stages.splice(firstWeight === -1 ? 0 : firstWeight, 0, { mirror } as JsonObject)
    const splits = base.plan.stages.some(stage => stage.kind === 'weight' && stage.weight < 100)
    const route = base.plan.routing.objects[0].route
    const ladderSpec = {
      namespace: base.plan.namespace,
      stages,
      withV0: 'v0' in (base.plan.routing.backends ?? {})
    }
    const extra: JsonObject = {
      ...(route ? { routing: { route } } : {}),
      ...(sticky && splits ? { sessionAffinity: { cookieName: 'canary', maxAge: '1h' } } : {})
    }
    // A rule matching the cookie is refused with sessionAffinity: drop its header matches.
    const rules = (base.spec.rules as JsonObject[]).map(r =>
      JSON.stringify(r.matches ?? []).includes('"cookie"') ? withoutKeys(r, 'matches') : r
    )
    return { spec: { ...base.spec, rules }, plan: planOf(ladderSpec, extra) }
  })
  .filter(({ spec, plan }) => {
    const current = { [keyOf(plan)]: spec }
    return (
      hr.validate(current, plan).length === 0 && hr.splitProblems(hr.pin(current, plan), plan).length === 0
    )
  })

describe('HTTPRoute router properties with mirror and sticky rules', () => {
  it('rollback from any stage is the identity on the pinned routing', () => {
    fc.assert(
      fc.property(trafficFeatureCase, fc.nat(), ({ spec, plan }, n) => {
        const target = hr.pin({ [keyOf(plan)]: spec }, plan)
        const applied = stageSpecs(target, plan, n % (plan.stages.length + 1))
        expect(JSON.stringify(hr.restore(applied, target, plan).specs)).toBe(JSON.stringify(target))
      }),
      RUNS
    )
  })

  it('a mirror stage adds a RequestMirror with its percent to the canary backend only while it is in effect', () => {
    fc.assert(
      fc.property(trafficFeatureCase, ({ spec, plan }) => {
        const target = hr.pin({ [keyOf(plan)]: spec }, plan)
        plan.stages.forEach((stage, position) => {
          const text = JSON.stringify(stageSpecs(target, plan, position + 1))
          const mirrors = text.match(/"type":"RequestMirror"/g) ?? []
          if (stage.kind !== 'mirror') return expect(mirrors).toEqual([])
          expect(mirrors.length).toBeGreaterThan(0)
          expect(text).toContain(
            '"requestMirror":{"backendRef":{"group":"","kind":"Service","name":"reviews-v2"'
          )
          expect(text).toContain(`"percent":${stage.percent}`)
        })
      }),
      RUNS
    )
  })

  it('the sticky rule and the Set-Cookie filter exist only while traffic is split', () => {
    fc.assert(
      fc.property(trafficFeatureCase, ({ spec, plan }) => {
        const target = hr.pin({ [keyOf(plan)]: spec }, plan)
        for (const index of stagesOf(plan)) {
          const rules = (stageSpecs(target, plan, index)[keyOf(plan)] as JsonObject).rules as JsonObject[]
          const sticky = rules.filter(r => typeof r.name === 'string' && r.name.endsWith('-sticky'))
          const { weight } = effectOf(plan, index)
          const splitting = plan.sessionAffinity !== undefined && weight > 0 && weight < 100
          expect(sticky.length > 0).toBe(splitting)
          for (const r of sticky) {
            expect(JSON.stringify(r.matches)).toContain('canary=v2')
            expect(refsOf(r).map(ref => ref.name)).toEqual(['reviews-v2'])
          }
          expect(JSON.stringify(rules).includes('Max-Age=3600')).toBe(splitting)
        }
      }),
      RUNS
    )
  })
})

describe('the rules a release does not manage are never its to change', () => {
  it('a stage and a rollback keep edits to other rules, parentRefs and hostnames as they are now', () => {
    fc.assert(
      fc.property(httpRouteCase, fc.nat(), fc.nat(), ({ spec, plan }, from, to) => {
        const key = keyOf(plan)
        const count = plan.stages.length + 1
        const target = hr.pin({ [key]: spec }, plan)
        const applied = stageSpecs(target, plan, from % count)[key] as JsonObject
        const foreign = {
          name: 'someone-else',
          matches: [{ path: { type: 'PathPrefix', value: '/other' } }],
          backendRefs: [{ name: 'details' }]
        }
        const edited = {
          ...applied,
          parentRefs: [...(applied.parentRefs as JsonObject[]), { name: 'public-gateway' }],
          hostnames: ['new.example.com'],
          rules: [foreign, ...(applied.rules as JsonObject[])]
        }
        const next = hr.stage({ [key]: edited }, target, plan, to % count, 'v2')[key] as JsonObject
        expect((next.rules as JsonObject[])[0]).toEqual(foreign)
        expect(next.parentRefs).toEqual(edited.parentRefs)
        expect(next.hostnames).toEqual(edited.hostnames)
        const restored = hr.restore({ [key]: edited }, target, plan)
        expect(restored.reverted).toEqual([])
        const pinned = target[key] as JsonObject
        expect(restored.specs[key]).toEqual({
          ...pinned,
          parentRefs: edited.parentRefs,
          hostnames: edited.hostnames,
          rules: [foreign, ...(pinned.rules as JsonObject[])]
        })
      }),
      RUNS
    )
  })
})
