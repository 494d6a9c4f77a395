/**
 * `compare` with `method: sequential` against a stub Prometheus whose answers are written out here: the
 * queries it sends (the router's counters, the grid of the stage), the exact counts it takes from them, its
 * verdicts and evidence, and how the watch acts on a rejection.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import type { SequentialCompare } from '../../src/analysis/checks/compare.js'
import { evaluateCheck } from '../../src/analysis/checks/index.js'
import { formatProgress } from '../../src/analysis/progress.js'
import type { CheckEnvironment } from '../../src/analysis/types.js'
import { watchStage } from '../../src/analysis/watch.js'
import { ROUTERS } from '../../src/routers/registry.js'
import { sendJson, startStubServer, testEnvironment, testPlan, type StubServer } from './fixtures.js'

let stub: StubServer | undefined
afterEach(async () => {
  await stub?.close()
  stub = undefined
})

const INTERVAL_MS = 60_000
const START = Date.UTC(2026, 0, 1, 12, 0, 0)
/** Four complete intervals and a bit. */
const NOW = START + 4 * INTERVAL_MS + 10_000

/** Cumulative counter values at grid points 0..4 (undefined: no sample yet). */
type Counter = (number | undefined)[]

interface VersionCounters {
  requests: Counter
  failed: Counter
}

/** A Prometheus answering range queries of the version counters with these values, per version. */
async function prometheusWithCounters(byVersion: Record<string, VersionCounters>): Promise<StubServer> {
  stub = await startStubServer((request, response) => {
    const form = new URLSearchParams(request.body)
    const query = form.get('query') ?? ''
    const version = /destination_version="([^"]+)"/.exec(query)?.[1] ?? ''
    const counter = query.includes('response_code=~"5.."') ? 'failed' : 'requests'
    const values = byVersion[version]?.[counter] ?? []
    const start = Number(form.get('start'))
    const step = Number(form.get('step'))
    const points = values.flatMap((value, k) =>
      value === undefined ? [] : [[start + k * step, String(value)] as [number, string]]
    )
    sendJson(response, 200, {
      status: 'success',
      data: { resultType: 'matrix', result: points.length ? [{ metric: {}, values: points }] : [] }
    })
  })
  return stub
}

function environment(overrides: Partial<CheckEnvironment> = {}): CheckEnvironment {
  const plan = testPlan()
  return testEnvironment({
    plan: { ...plan, analysis: { ...plan.analysis, intervalMs: INTERVAL_MS } },
    stageStartedAt: new Date(START),
    now: () => new Date(NOW),
    ...overrides
  })
}

function successRate(url: string, overrides: Partial<SequentialCompare> = {}): SequentialCompare {
  return {
    kind: 'compare',
    name: 'errors-vs-stable',
    method: 'sequential',
    prometheus: { url },
    template: 'success-rate',
    direction: 'increase',
    tolerance: 0.25,
    alpha: 0.05,
    minSamples: 50,
    ...overrides
  }
}

/** A stable serving 19,000 requests an interval, 0.1% failed. */
const STABLE: VersionCounters = {
  requests: [10_000, 29_000, 48_000, 67_000, 86_000],
  failed: [10, 29, 48, 67, 86]
}

function forms(server: StubServer) {
  return server.requests.map(request => Object.fromEntries(new URLSearchParams(request.body)))
}

describe('sequential compare check', () => {
  it('queries raw counters per version over the grid of the stage and rejects a failing canary', async () => {
    // The canary's counters start with the stage: 1000 requests an interval, 5% failed.
    const server = await prometheusWithCounters({
      v1: STABLE,
      v2: { requests: [undefined, 1000, 2000, 3000, 4000], failed: [undefined, 50, 100, 150, 200] }
    })
    const evaluation = await evaluateCheck(successRate(server.url), environment())
    expect(evaluation).toMatchObject({
      verdict: 'fail',
      decisive: true,
      threshold: 'failure-rate ratio <= 1.25 (alpha 0.05)',
      evidence: {
        measure: 'failure-rate',
        canarySamples: 4000,
        canaryEvents: 200,
        stableSamples: 76_000,
        stableEvents: 76,
        acceptedMax: 1.25,
        alpha: 0.05,
        intervals: 4
      }
    })
    expect(evaluation.value).toBeCloseTo(50, 6)
    expect(evaluation.evidence?.lower).toBeGreaterThan(1.25)
    expect(evaluation.evidence?.logEValue).toBeGreaterThan(evaluation.evidence?.logThreshold ?? Infinity)
    expect(evaluation.message).toMatch(/^canary 5% \(200 of 4000\) failed vs stable 0\.1% \(76 of 76000\)/)

    const sent = forms(server)
    expect(sent.map(form => form.query).sort()).toEqual([
      'istio_requests_total{reporter="destination",destination_service_namespace="default",destination_service_name="reviews",destination_version="v1",response_code=~"5.."}',
      'istio_requests_total{reporter="destination",destination_service_namespace="default",destination_service_name="reviews",destination_version="v1"}',
      'istio_requests_total{reporter="destination",destination_service_namespace="default",destination_service_name="reviews",destination_version="v2",response_code=~"5.."}',
      'istio_requests_total{reporter="destination",destination_service_namespace="default",destination_service_name="reviews",destination_version="v2"}'
    ])
    for (const form of sent) {
      expect(form).toMatchObject({
        start: String(START / 1000),
        end: String((START + 4 * INTERVAL_MS) / 1000),
        step: '60'
      })
    }
    expect(server.requests.every(request => request.path === '/api/v1/query_range')).toBe(true)
  })

  it('passes a canary that fails like the stable, with bounds around 1', async () => {
    const server = await prometheusWithCounters({
      v1: STABLE,
      v2: { requests: [0, 1000, 2000, 3000, 4000], failed: [0, 1, 2, 3, 4] }
    })
    const evaluation = await evaluateCheck(successRate(server.url), environment())
    expect(evaluation).toMatchObject({ verdict: 'pass', value: 1 })
    expect(evaluation.decisive).toBeUndefined()
    const evidence = evaluation.evidence!
    expect(evidence.lower).toBeLessThan(1)
    expect(evidence.upper).toBeGreaterThan(1)
    expect(evidence.logEValue).toBeLessThan(evidence.logThreshold)
  })

  it('has no data below minSamples, or before the first interval ends', async () => {
    const server = await prometheusWithCounters({
      v1: STABLE,
      v2: { requests: [0, 10, 20, 30, 40], failed: [0, 5, 10, 15, 20] }
    })
    expect(await evaluateCheck(successRate(server.url), environment())).toMatchObject({
      verdict: 'nodata',
      value: null,
      evidence: { canarySamples: 40 }
    })
    const early = await evaluateCheck(
      successRate(server.url),
      environment({ now: () => new Date(START + INTERVAL_MS - 1) })
    )
    expect(early).toMatchObject({
      verdict: 'nodata',
      message: 'no complete interval (1m) since the stage started'
    })
  })

  it('counts slow requests from the latency histogram of the plan’s router', async () => {
    stub = await startStubServer((request, response) => {
      const form = new URLSearchParams(request.body)
      const query = form.get('query') ?? ''
      const canary = query.includes('destination_version="v2"')
      // Per interval: 1000 canary requests, 300 of them slow; 19000 stable requests, 190 slow.
      const total = canary ? 1000 : 19_000
      const within = query.includes('_bucket') ? (canary ? 700 : 18_810) : total
      const start = Number(form.get('start'))
      const values = [0, 1, 2, 3, 4].map(k => [start + k * 60, String(k * within)])
      sendJson(response, 200, {
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: {}, values }] }
      })
    })
    const check = successRate(stub.url, { template: 'slow-requests', slowerThanMs: 250 })
    const env = environment({
      plan: {
        ...testPlan({ router: 'RouteRule' }),
        analysis: { ...testPlan().analysis, intervalMs: INTERVAL_MS }
      },
      versionCounter: (counter, version) =>
        ROUTERS.RouteRule.versionCounter(counter, version, testPlan({ router: 'RouteRule' }))
    })
    const evaluation = await evaluateCheck(check, env)
    expect(evaluation).toMatchObject({
      verdict: 'fail',
      threshold: 'slow (>250ms) ratio <= 1.25 (alpha 0.05)',
      evidence: { measure: 'slow-share', slowerThanMs: 250, canaryEvents: 1200, stableEvents: 760 }
    })
    expect(evaluation.value).toBeCloseTo(30, 6)
    expect(evaluation.message).toMatch(/^canary 30% \(1200 of 4000\) slower than 250ms vs stable 1% /)
    // Mixer-era durations are in seconds: 250ms is the bucket le="0.25".
    expect(
      forms(stub)
        .map(form => form.query)
        .sort()
    ).toEqual([
      'istio_request_duration_bucket{destination_service="reviews.default.svc.cluster.local",destination_version="v1",le=~"0\\\\.25"}',
      'istio_request_duration_bucket{destination_service="reviews.default.svc.cluster.local",destination_version="v2",le=~"0\\\\.25"}',
      'istio_request_duration_count{destination_service="reviews.default.svc.cluster.local",destination_version="v1"}',
      'istio_request_duration_count{destination_service="reviews.default.svc.cluster.local",destination_version="v2"}'
    ])
  })

  it('runs a query with $version and $window once per version, one point per interval', async () => {
    stub = await startStubServer((request, response) => {
      const form = new URLSearchParams(request.body)
      const canary = (form.get('query') ?? '').includes('"v2"')
      const start = Number(form.get('start'))
      // Ten pods, each one value per interval: the canary's twice the stable's.
      const result = Array.from({ length: 10 }, (_, pod) => ({
        metric: { pod: String(pod) },
        values: [0, 1, 2, 3].map(k => [start + k * 60, String((canary ? 200 : 100) + pod)])
      }))
      sendJson(response, 200, { status: 'success', data: { resultType: 'matrix', result } })
    })
    const check: SequentialCompare = {
      ...successRate(stub.url, { minSamples: 20 }),
      template: undefined,
      query: 'avg_over_time(latency{version="$version"}[$window])',
      quantile: 0.5
    }
    delete check.template
    const evaluation = await evaluateCheck(check, environment())
    expect(evaluation).toMatchObject({
      verdict: 'fail',
      threshold: 'median ratio <= 1.25 (alpha 0.05)',
      evidence: { measure: 'quantile', quantile: 0.5, canarySamples: 40, stableSamples: 40, intervals: 4 }
    })
    const sent = forms(stub)
    expect(sent.map(form => form.query).sort()).toEqual([
      'avg_over_time(latency{version="v1"}[1m])',
      'avg_over_time(latency{version="v2"}[1m])'
    ])
    // The first point is the end of the first interval: each covers its own minute.
    expect(sent[0]).toMatchObject({ start: String((START + INTERVAL_MS) / 1000), step: '60' })
  })

  it('rolls the watch back at the first rejection, whatever failureLimit says', async () => {
    const server = await prometheusWithCounters({
      v1: STABLE,
      v2: { requests: [0, 1000, 2000, 3000, 4000], failed: [0, 50, 100, 150, 200] }
    })
    const lines: string[] = []
    const outcome = await watchStage([successRate(server.url)], {
      env: environment(),
      durationMs: 500,
      intervalMs: 50,
      failureLimit: 3,
      onNoData: 'fail',
      signal: new AbortController().signal,
      onProgress: event => lines.push(formatProgress(event))
    })
    expect(outcome.result).toBe('failed')
    expect(outcome.evaluations).toHaveLength(1)
    expect(lines[0]).toMatch(
      /errors-vs-stable 50 failure-rate ratio <= 1.25 \(alpha 0.05\) FAIL \(decisive\): canary 5%/
    )
  })
})
