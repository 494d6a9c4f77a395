import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from '@jest/globals'
import { canonicalJson, differingPaths, digest, jsonEqual, type JsonObject } from '../../src/common/json.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import {
  appendHistory,
  changedSince,
  decodeState,
  decodeTarget,
  digestsOf,
  encodeState,
  encodeTarget,
  type ReleaseState,
  stateAnnotation,
  targetAnnotation,
  unconverged
} from '../../src/engine/state.js'
import { canaryWeight } from '../../src/engine/transition.js'
import { describeSplit } from '../../src/plan/stages.js'
import { buildLadder } from '../../src/report/build-report.js'
import { routeRuleRouter } from '../../src/routers/route-rule.js'
import type { RoutingSpecs } from '../../src/routers/router.js'

const REVIEWS = { service: 'reviews', namespace: 'default' }
const STATE_ANNOTATION = stateAnnotation(REVIEWS)
const TARGET_ANNOTATION = targetAnnotation(REVIEWS)
const IDENTITY = {
  service: 'reviews',
  namespace: 'default',
  stable: 'v1',
  canary: 'v2',
  revision: 'v2',
  ladder: '0123456789abcdef',
  objects: ['default/reviews-default']
}

/** The drift test as the engine runs it on whole RouteRule specs. */
function driftedObjects(state: ReleaseState, specs: RoutingSpecs): string[] {
  return changedSince(state.written, state.previous, digestsOf(specs))
}
function unconvergedObjects(state: ReleaseState, specs: RoutingSpecs): string[] {
  return unconverged(state.written, digestsOf(specs))
}

const V1: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 1,
  route: [{ labels: { version: 'v1' } }]
}
const SPLIT: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 1,
  route: [
    { labels: { version: 'v1' }, weight: 50 },
    { labels: { version: 'v2' }, weight: 50 }
  ]
}
const TEST_USER: JsonObject = {
  destination: { name: 'reviews' },
  precedence: 2,
  match: { request: { headers: { cookie: { regex: '^(.*?;)?(user=test-user)(;.*)?$' } } } },
  route: [{ labels: { version: 'v2' } }]
}

function state(fields: Partial<ReleaseState> = {}): ReleaseState {
  return {
    release: IDENTITY,
    stageIndex: 1,
    phase: 'watching',
    appliedAt: '2024-05-01T10:00:00.000Z',
    written: {},
    unmanaged: {},
    history: [],
    ...fields
  }
}

describe('json helpers', () => {
  it('canonical JSON sorts object keys but not arrays', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null } })).toBe('{"a":{"c":null,"d":[3,1]},"b":1}')
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true)
    expect(jsonEqual([1, 2], [2, 1])).toBe(false)
    expect(digest({ a: 1, b: 2 })).toBe(digest({ b: 2, a: 1 }))
    expect(digest({ a: 1 })).toMatch(/^[0-9a-f]{16}$/)
    expect(digest({ a: 1 })).not.toBe(digest({ a: 2 }))
  })

  it('differingPaths names the changed fields', () => {
    expect(differingPaths(SPLIT, SPLIT)).toEqual([])
    expect(differingPaths(V1, SPLIT)).toEqual(['route'])
    expect(
      differingPaths(
        { spec: { http: [{ route: [{ weight: 90 }, { weight: 10 }] }] } },
        { spec: { http: [{ route: [{ weight: 80 }, { weight: 20 }] }] } }
      )
    ).toEqual(['spec.http[0].route[0].weight', 'spec.http[0].route[1].weight'])
    expect(differingPaths({ a: 1 }, { a: 1, b: 2 })).toEqual(['b'])
    expect(differingPaths(1, 2)).toEqual(['(root)'])
  })
})

describe('state annotation', () => {
  it('round-trips through encode and decode', () => {
    const s = state({
      stageIndex: 2,
      phase: 'passed',
      runId: '12345',
      written: { 'default/reviews-default': digest(SPLIT), 'default/reviews-test-user': null },
      previous: { 'default/reviews-default': digest(V1), 'default/reviews-test-user': null },
      rollback: {
        reason: 'success-rate 0.9 < 0.99',
        stageIndex: 2,
        check: 'success-rate',
        value: null,
        at: '2024-05-01T10:05:00.000Z'
      },
      history: [{ at: '2024-05-01T10:00:00.000Z', revision: 'v2', event: 'pinned', stageIndex: 0, weight: 0 }]
    })
    const text = encodeState(s)
    expect(typeof text).toBe('string')
    expect(decodeState({ [STATE_ANNOTATION]: text }, REVIEWS)).toEqual(s)
  })

  it('decodes to undefined when there is no annotation', () => {
    expect(decodeState(undefined, REVIEWS)).toBeUndefined()
    expect(decodeState({}, REVIEWS)).toBeUndefined()
    expect(decodeState({ other: encodeState(state()) }, REVIEWS)).toBeUndefined()
  })

  it('keeps each service to its own annotation', () => {
    const ratings = { service: 'ratings', namespace: 'default' }
    expect(stateAnnotation(REVIEWS)).toBe('reviews.default.istio-canary-action.github.io/state')
    expect(targetAnnotation(ratings)).toBe('ratings.default.istio-canary-action.github.io/rollback-target')
    expect(decodeState({ [STATE_ANNOTATION]: encodeState(state()) }, ratings)).toBeUndefined()
  })

  it('refuses invalid JSON, naming the annotation', () => {
    expect(() => decodeState({ [STATE_ANNOTATION]: '{not json' }, REVIEWS)).toThrow(
      /^state: the annotation reviews\.default\.istio-canary-action\.github\.io\/state is not valid \(not JSON\); it was not written by this action\. Restore the routing, then remove the annotation to start over$/
    )
    expect(() => decodeState({ [STATE_ANNOTATION]: '' }, REVIEWS)).toThrow(/not valid \(not JSON\)/)
  })

  it('refuses a state without revision or stage index', () => {
    expect(() => decodeState({ [STATE_ANNOTATION]: '{"stageIndex":1}' }, REVIEWS)).toThrow(
      /not valid \(release is not a mapping\)/
    )
    const noIndex = { ...state(), stageIndex: '1' }
    expect(() => decodeState({ [STATE_ANNOTATION]: JSON.stringify(noIndex) }, REVIEWS)).toThrow(
      /stageIndex is not an integer/
    )
    expect(() => decodeState({ [STATE_ANNOTATION]: 'null' }, REVIEWS)).toThrow(/not valid/)
  })

  it.each([
    ['an unknown phase', { phase: 'pwned' }, /phase is not a known phase/],
    [
      'a revision that is Markdown',
      { release: { ...IDENTITY, revision: '[ok](https://evil.example)' } },
      /release\.revision/
    ],
    ['another service as its release', { release: { ...IDENTITY, service: '<b>x</b>' } }, /release\.service/],
    [
      'a weight that is not a number',
      { history: [{ at: '2024-05-01T10:00:00.000Z', revision: 'v2', event: 'x', weight: 'NaN' }] },
      /history\[0\]\.weight/
    ],
    [
      'a weight out of range',
      { history: [{ at: '2024-05-01T10:00:00.000Z', revision: 'v2', event: 'x', weight: 1e9 }] },
      /history\[0\]\.weight/
    ],
    [
      'a line break in an event',
      { history: [{ at: '2024-05-01T10:00:00.000Z', revision: 'v2', event: 'a\n## forged' }] },
      /history\[0\]\.event holds control/
    ],
    [
      'an endless event',
      { history: [{ at: '2024-05-01T10:00:00.000Z', revision: 'v2', event: 'x'.repeat(5000) }] },
      /history\[0\]\.event is longer/
    ],
    ['a time that is not a time', { appliedAt: '<img src=x>' }, /appliedAt is malformed/],
    [
      'an infinite rollback value',
      { rollback: { reason: 'r', stageIndex: 1, at: '2024-05-01T10:00:00.000Z', value: '1e999' } },
      /rollback\.value/
    ],
    [
      'a digest that is not one',
      { written: { 'default/reviews': 'zzz' } },
      /written\[default\/reviews\] is malformed/
    ]
  ])('refuses, never renders, a state with %s', (_name, fields, problem) => {
    const text = JSON.stringify({ ...state(), ...fields })
    expect(() => decodeState({ [STATE_ANNOTATION]: text }, REVIEWS)).toThrow(problem)
  })

  it('keeps the last 40 history entries', () => {
    const history = Array.from({ length: 40 }, (_, i) => ({ at: `t${i}`, revision: 'v2', event: `e${i}` }))
    const next = appendHistory(history, { at: 't40', revision: 'v2', event: 'e40' })
    expect(next).toHaveLength(40)
    expect(next[0].event).toBe('e1')
    expect(next.at(-1)?.event).toBe('e40')
    expect(appendHistory([], { at: 't', revision: 'v2', event: 'pinned' })).toEqual([
      { at: 't', revision: 'v2', event: 'pinned' }
    ])
  })
})

describe('rollback target annotation', () => {
  const target: RoutingSpecs = { 'reviews-default': V1, 'reviews-test-user': null }

  it('round-trips, keeping null entries', () => {
    const text = encodeTarget(target)
    expect(decodeTarget({ [TARGET_ANNOTATION]: text }, REVIEWS)).toEqual(target)
  })

  it('is gzip-compressed base64 JSON', () => {
    const text = encodeTarget(target)
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(JSON.parse(gunzipSync(Buffer.from(text, 'base64')).toString('utf8'))).toEqual(target)
  })

  it('keeps a large VirtualService well under the 256 KiB annotation limit', () => {
    const http = Array.from({ length: 2000 }, (_, i) => ({
      name: `route-${i}`,
      match: [{ uri: { prefix: `/api/v1/resource-${i}` } }],
      route: [{ destination: { host: 'reviews', subset: 'v1' } }]
    }))
    const big: RoutingSpecs = { reviews: { hosts: ['reviews'], http } }
    expect(JSON.stringify(big).length).toBeGreaterThan(256 * 1024)
    const text = encodeTarget(big)
    expect(text.length).toBeLessThan(256 * 1024)
    expect(decodeTarget({ [TARGET_ANNOTATION]: text }, REVIEWS)).toEqual(big)
  })

  it('decodes to undefined when absent, and refuses garbage', () => {
    expect(decodeTarget(undefined, REVIEWS)).toBeUndefined()
    expect(decodeTarget({}, REVIEWS)).toBeUndefined()
    expect(() => decodeTarget({ [TARGET_ANNOTATION]: 'bm90IGd6aXA=' }, REVIEWS)).toThrow(
      'state: the annotation reviews.default.istio-canary-action.github.io/rollback-target is not valid; remove both canary annotations to start over'
    )
  })
})

describe('drift', () => {
  const written = digestsOf({ 'reviews-default': SPLIT, 'reviews-test-user': TEST_USER })

  it('digests each spec, null for an absent object', () => {
    expect(digestsOf({ a: V1, b: null })).toEqual({ a: digest(V1), b: null })
  })

  it('finds nothing when the routing is what was written', () => {
    const s = state({ written })
    expect(driftedObjects(s, { 'reviews-default': SPLIT, 'reviews-test-user': TEST_USER })).toEqual([])
    expect(unconvergedObjects(s, { 'reviews-default': SPLIT, 'reviews-test-user': TEST_USER })).toEqual([])
  })

  it('ignores key order', () => {
    const reordered: JsonObject = { route: SPLIT.route, precedence: 1, destination: { name: 'reviews' } }
    expect(
      driftedObjects(state({ written }), { 'reviews-default': reordered, 'reviews-test-user': TEST_USER })
    ).toEqual([])
  })

  it("detects someone else's change", () => {
    const edited = { ...SPLIT, route: [{ labels: { version: 'v1' }, weight: 100 }] }
    expect(
      driftedObjects(state({ written }), { 'reviews-default': edited, 'reviews-test-user': TEST_USER })
    ).toEqual(['reviews-default'])
  })

  it('detects a deleted object and an object that should be absent', () => {
    expect(driftedObjects(state({ written }), { 'reviews-default': SPLIT })).toEqual(['reviews-test-user'])
    expect(
      driftedObjects(state({ written }), { 'reviews-default': SPLIT, 'reviews-test-user': null })
    ).toEqual(['reviews-test-user'])
    const absent = state({ written: { 'reviews-default': digest(V1), 'reviews-test-user': null } })
    expect(driftedObjects(absent, { 'reviews-default': V1 })).toEqual([])
    expect(driftedObjects(absent, { 'reviews-default': V1, 'reviews-test-user': TEST_USER })).toEqual([
      'reviews-test-user'
    ])
  })

  it('ignores objects it did not write', () => {
    expect(
      driftedObjects(state({ written: { 'reviews-default': digest(V1) } }), {
        'reviews-default': V1,
        unrelated: SPLIT
      })
    ).toEqual([])
  })

  it('accepts the previous digests while a write may be unfinished', () => {
    // Stage 2 -> 3 rewrites reviews-default and the test rule.
    const before = { 'reviews-default': V1, 'reviews-test-user': TEST_USER }
    const after = { 'reviews-default': SPLIT, 'reviews-test-user': { ...TEST_USER, precedence: 3 } }
    const s = state({ written: digestsOf(after), previous: digestsOf(before) })
    expect(driftedObjects(s, before)).toEqual([])
    expect(driftedObjects(s, { ...before, 'reviews-default': SPLIT })).toEqual([])
    expect(driftedObjects(s, after)).toEqual([])
    expect(unconvergedObjects(s, before)).toEqual(['reviews-default', 'reviews-test-user'])
    expect(unconvergedObjects(s, { ...before, 'reviews-default': SPLIT })).toEqual(['reviews-test-user'])
    expect(unconvergedObjects(s, after)).toEqual([])
  })

  it('accepts an object not yet deleted by an unfinished write', () => {
    const s = state({
      written: { 'reviews-default': digest(SPLIT), 'reviews-test-user': null },
      previous: { 'reviews-default': digest(V1), 'reviews-test-user': digest(TEST_USER) }
    })
    expect(driftedObjects(s, { 'reviews-default': SPLIT, 'reviews-test-user': TEST_USER })).toEqual([])
    expect(driftedObjects(s, { 'reviews-default': SPLIT })).toEqual([])
    expect(unconvergedObjects(s, { 'reviews-default': SPLIT, 'reviews-test-user': TEST_USER })).toEqual([
      'reviews-test-user'
    ])
  })

  it('detects a change that is neither the previous nor the written spec', () => {
    const s = state({ written, previous: { 'reviews-default': digest(V1), 'reviews-test-user': null } })
    const edited = { ...V1, precedence: 5 }
    expect(driftedObjects(s, { 'reviews-default': edited, 'reviews-test-user': TEST_USER })).toEqual([
      'reviews-default'
    ])
  })

  it('does not take a missing previous digest for an absent object', () => {
    const s = state({ written, previous: { 'reviews-default': digest(V1) } })
    expect(driftedObjects(s, { 'reviews-default': V1 })).toEqual(['reviews-test-user'])
  })
})

describe('ladder', () => {
  const plan = parsePlan(`
service: reviews
stable: v1
canary: v2
stages:
  - match: { headers: { cookie: { regex: "^(.*?;)?(user=test-user)(;.*)?$" }, x-beta: { exact: "1" } } }
  - name: beta
    match: { headers: { x-group: { prefix: beta- } } }
  - weight: 5
  - weight: 50
  - weight: 100
  - name: cleanup
    finalize: { deleteStable: true }
`)
  const base = [
    {
      index: 1,
      name: 'test-user',
      kind: 'match',
      weight: 0,
      split: 'cookie ~ ^(.*?;)?(user=test-user)(;.*)?$ and x-beta = 1 → v2'
    },
    { index: 2, name: 'beta', kind: 'match', weight: 0, split: 'x-group ^= beta- → v2' },
    { index: 3, name: '5%', kind: 'weight', weight: 5, split: '95% v1 / 5% v2' },
    { index: 4, name: '50%', kind: 'weight', weight: 50, split: '50% v1 / 50% v2' },
    { index: 5, name: '100%', kind: 'weight', weight: 100, split: '100% v2' },
    { index: 6, name: 'cleanup', kind: 'finalize', weight: 100, split: '100% v2, delete v1' }
  ]
  const states = (...values: string[]) => base.map((entry, i) => ({ ...entry, state: values[i] }))
  const weightOf = (p: typeof plan, s: ReleaseState | undefined) => canaryWeight(routeRuleRouter, p, s, {})

  it('is all pending without a state', () => {
    expect(buildLadder(plan, undefined)).toEqual(states(...Array(6).fill('pending')))
    expect(weightOf(plan, undefined)).toBe(0)
  })

  it('is all pending when only pinned', () => {
    const s = state({ stageIndex: 0, phase: 'pinned' })
    expect(buildLadder(plan, s)).toEqual(states(...Array(6).fill('pending')))
    expect(weightOf(plan, s)).toBe(0)
  })

  it('marks the stage being watched current', () => {
    const s = state({ stageIndex: 4, phase: 'watching' })
    expect(buildLadder(plan, s)).toEqual(
      states('passed', 'passed', 'passed', 'current', 'pending', 'pending')
    )
    expect(weightOf(plan, s)).toBe(50)
  })

  it('marks a watched stage passed', () => {
    const s = state({ stageIndex: 3, phase: 'passed' })
    expect(buildLadder(plan, s)).toEqual(
      states('passed', 'passed', 'passed', 'pending', 'pending', 'pending')
    )
    expect(weightOf(plan, s)).toBe(5)
  })

  it('marks every stage passed when completed', () => {
    const s = state({ stageIndex: 6, phase: 'completed' })
    expect(buildLadder(plan, s)).toEqual(states(...Array(6).fill('passed')))
    expect(weightOf(plan, s)).toBe(100)
  })

  it('marks the failed stage rolled back and routes nothing to the canary', () => {
    const s = state({
      stageIndex: 0,
      phase: 'rolled-back',
      rollback: { reason: 'success-rate', stageIndex: 3, at: 't' }
    })
    expect(buildLadder(plan, s)).toEqual(
      states('passed', 'passed', 'rolled-back', 'pending', 'pending', 'pending')
    )
    expect(weightOf(plan, s)).toBe(0)
  })

  it('carries the time and run of the last event of each stage for this revision', () => {
    const s = state({
      stageIndex: 2,
      phase: 'watching',
      history: [
        { at: 't0', revision: 'v2', event: 'applied test-user', stageIndex: 1, runId: 'r0' },
        { at: 't1', revision: 'v2', event: 'passed test-user', stageIndex: 1, runId: 'r1' },
        { at: 't2', revision: 'v1.9', event: 'applied beta', stageIndex: 2, runId: 'old' }
      ]
    })
    const ladder = buildLadder(plan, s)
    expect(ladder[0]).toEqual({ ...base[0], state: 'passed', at: 't1', runId: 'r1' })
    expect(ladder[1]).toEqual({ ...base[1], state: 'current' })
  })

  it('describes a weight stage without deleteStable and with custom versions', () => {
    const p = parsePlan(
      'service: reviews\nstable: blue\ncanary: green\nstages:\n  - weight: 20\n  - finalize: {}\n'
    )
    expect(describeSplit(p, 1)).toBe('80% blue / 20% green')
    expect(describeSplit(p, 2)).toBe('100% green')
  })
})

describe('drift while a multi-object write is unfinished', () => {
  it('accepts an object the unfinished write was about to create', () => {
    const rule = { destination: { name: 'reviews' }, precedence: 2, route: [{ labels: { version: 'v2' } }] }
    const state: ReleaseState = {
      release: IDENTITY,
      stageIndex: 1,
      phase: 'watching',
      appliedAt: '2026-01-01T00:00:00Z',
      history: [],
      written: { 'reviews-test-user': digest(rule) },
      unmanaged: {},
      previous: { 'reviews-test-user': null }
    }
    expect(driftedObjects(state, {})).toEqual([])
    expect(driftedObjects(state, { 'reviews-test-user': rule })).toEqual([])
    expect(driftedObjects(state, { 'reviews-test-user': { ...rule, precedence: 9 } })).toEqual([
      'reviews-test-user'
    ])
  })

  it('refuses a state annotation without its digests or history', () => {
    expect(() =>
      decodeState(
        { [STATE_ANNOTATION]: JSON.stringify({ release: IDENTITY, stageIndex: 1, phase: 'passed' }) },
        REVIEWS
      )
    ).toThrow(/is not valid/)
  })
})
