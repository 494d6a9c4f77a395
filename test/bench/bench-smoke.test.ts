/** The bench's measuring functions, once each on a tiny setup: result shapes and invariants, never timings. */
import { describe, expect, it } from '@jest/globals'
import { measureTransition } from '../../bench/scenarios/transition.js'
import { measureWatchRequests } from '../../bench/scenarios/watch.js'
import { measureTransitionRequests } from '../../bench/scenarios/requests.js'
import { timeMwu } from '../../bench/mwu.js'
import { parseArgs } from '../../bench/run.js'
import { findKubectl } from '../../bench/runtime.js'
import { routedToStableOnly, shiftedHttp, virtualServiceWithRoutes } from '../../bench/fixtures.js'

const positiveInteger = (n: number) => Number.isInteger(n) && n > 0

describe('bench', () => {
  it('parses --runs and --latency-ms', () => {
    expect(parseArgs(['--runs', '1', '--latency-ms', '5'])).toMatchObject({ runs: 1, latencyMs: 5 })
    expect(() => parseArgs(['--runs', '0'])).toThrow('--runs')
    expect(parseArgs(['--annotations'])).toMatchObject({ annotations: true })
  })

  it('builds VirtualServices with one shifted route and the rest unrelated', () => {
    const object = virtualServiceWithRoutes(10)
    const http = (object.spec as { http: { name: string }[] }).http
    expect(http).toHaveLength(10)
    expect(http.filter(route => route.name === 'reviews-route')).toHaveLength(1)
    const shifted = shiftedHttp(http, 50)
    expect(routedToStableOnly({ ...object, spec: { http: shifted } })).toBe(false)
    expect(routedToStableOnly(object)).toBe(true)
  })

  it('measures the 5% -> 50% transition: request counts, unrelated routes untouched', async () => {
    const kubectl = findKubectl()
    const result = await measureTransition({ runs: 1, latencyMs: 0, routes: 10, kubectl: kubectl?.path })
    expect(result.unrelatedRoutes).toBe(9)
    expect(result.unrelatedUntouched).toBe(true)
    expect(result.action.requests.every(positiveInteger)).toBe(true)
    expect(result.action.writes).toEqual([1])
    expect(result.action.ms).toHaveLength(1)
    expect(result.action.coldStartMs[0]).toBeGreaterThan(0)
    if (kubectl) {
      expect(result.kubectl?.requests.every(positiveInteger)).toBe(true)
      expect(result.kubectl?.discoveryRequests[0]).toBeGreaterThan(0)
      expect(result.sameResult).toBe(true)
    }
  })

  it('counts the watch requests of a kubernetes check: reads only', async () => {
    const watch = await measureWatchRequests({ latencyMs: 0, evaluations: 2 })
    expect(watch.evaluations).toBe(2)
    expect(positiveInteger(watch.requests)).toBe(true)
    expect(watch.writes).toBe(0)
    expect(watch.perEvaluation).toBeGreaterThan(0)
  })

  it('counts one read and one write per routing object for a stage transition, plus HTTPRoute status reads', async () => {
    // Over several objects the first is written once more at the end: its state then records the stage as
    // finished on every object (until then a lost write of another object stays visible as unfinished).
    const results = await measureTransitionRequests({ latencyMs: 0 })
    const byName = Object.fromEntries(results.map(r => [r.name, r]))
    expect(byName['VirtualService']).toMatchObject({ objects: 1, routingReads: 1, statusReads: 0, writes: 1 })
    expect(byName['VirtualService, mesh + ingress (two namespaces)']).toMatchObject({
      objects: 2,
      routingReads: 2,
      statusReads: 0,
      writes: 3
    })
    // The two rules of a release are listed in one request; the stage writes the default rule.
    expect(byName['RouteRule (Istio 0.2)']).toMatchObject({ routingReads: 1, statusReads: 0 })
    expect(byName['HTTPRoute'].routingReads).toBe(1)
    expect(byName['HTTPRoute'].writes).toBe(1)
    expect(byName['HTTPRoute'].statusReads).toBeGreaterThan(0)
    for (const result of results) expect(result.requests).toBe(result.log.length)
  }, 60_000)

  it('times Mann-Whitney on generated samples', () => {
    const timings = timeMwu(1, 1000)
    expect(timings.samples).toBe(1000)
    expect(timings.evaluationMs).toHaveLength(1)
    expect(timings.testOnlyMs).toHaveLength(1)
  })
})
