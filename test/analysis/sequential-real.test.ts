/**
 * Every query form of the sequential checks against a real Prometheus scraping Istio-shaped metrics: the
 * routers' raw counters (success-rate and slow-requests, telemetry v2 and Mixer-era), and a query with
 * $version and $window.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { SequentialCompare } from '../../src/analysis/checks/compare.js'
import { evaluateCheck } from '../../src/analysis/checks/index.js'
import { instantQuery } from '../../src/analysis/prometheus-client.js'
import type { CheckEnvironment, Evaluation } from '../../src/analysis/types.js'
import type { RouterKind } from '../../src/plan/types.js'
import { ROUTERS } from '../../src/routers/registry.js'
import { startIstioExporter, type IstioExporter } from '../../testkit/prometheus/istio-exporter.js'
import { startPrometheus, type PrometheusServer } from '../../testkit/prometheus/prometheus-server.js'
import { testEnvironment, testPlan } from './fixtures.js'

const INTERVAL_MS = 1000
const routers = Object.keys(ROUTERS) as RouterKind[]

/** Subset routing's series (VirtualService, RouteRule), and Gateway API's: per-version backend Services. */
let exporters: IstioExporter[]
let prometheus: PrometheusServer
let startedAt: Date

beforeAll(async () => {
  exporters = await Promise.all([
    startIstioExporter({ service: 'reviews', namespace: 'default' }),
    startIstioExporter({
      service: 'reviews',
      namespace: 'default',
      destination: 'backend-service',
      reporter: 'waypoint'
    })
  ])
  for (const exporter of exporters) {
    // The stable and a canary like it: 1% failed, 30-45 ms (never slower than 50 ms).
    exporter.setVersion('v1', { rps: 200, errorRatio: 0.01, latencyMs: [30, 45], pods: 10 })
    exporter.setVersion('v2', { rps: 100, errorRatio: 0.01, latencyMs: [30, 45], pods: 10 })
    // A canary failing 20% of requests, every one slower than 250 ms.
    exporter.setVersion('v3', { rps: 100, errorRatio: 0.2, latencyMs: [300, 400], pods: 10 })
  }
  prometheus = await startPrometheus({ targets: exporters.map(exporter => exporter.url) })
  startedAt = new Date()
}, 40_000)

afterAll(async () => {
  await prometheus?.close()
  await Promise.all((exporters ?? []).map(exporter => exporter.close()))
})

function environment(router: RouterKind, canary: string): CheckEnvironment {
  const plan = testPlan({ router, canary, stable: 'v1' })
  return testEnvironment({
    plan: { ...plan, analysis: { ...plan.analysis, intervalMs: INTERVAL_MS } },
    stageStartedAt: startedAt,
    versionCounter: (counter, version) => ROUTERS[router].versionCounter(counter, version, plan)
  })
}

function sequential(overrides: Partial<SequentialCompare>): SequentialCompare {
  return {
    kind: 'compare',
    name: 'vs-stable',
    method: 'sequential',
    prometheus: { url: prometheus.url },
    direction: 'increase',
    tolerance: 0.25,
    alpha: 0.05,
    minSamples: 50,
    ...overrides
  }
}

/** Evaluates until `done` holds or the time is up, and returns the last evaluation either way. */
async function evaluateUntil(
  check: SequentialCompare,
  env: CheckEnvironment,
  done: (evaluation: Evaluation) => boolean,
  timeoutMs = 20_000
): Promise<Evaluation> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const evaluation = await evaluateCheck(check, env)
    if (done(evaluation) || Date.now() > deadline) return evaluation
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

const enoughIntervals = (intervals: number) => (evaluation: Evaluation) =>
  (evaluation.evidence?.intervals ?? 0) >= intervals && evaluation.verdict !== 'nodata'

describe('sequential checks against a real Prometheus', () => {
  it.each(routers)(
    '%s success-rate: exact request counts since the stage started, a canary like the stable passes',
    async router => {
      const evaluation = await evaluateUntil(
        sequential({ template: 'success-rate' }),
        environment(router, 'v2'),
        enoughIntervals(4)
      )
      expect(evaluation.verdict).toBe('pass')
      const evidence = evaluation.evidence!
      // Whole requests, about 100 a second on the canary and 200 on the stable, 1% failed.
      expect(Number.isInteger(evidence.canarySamples)).toBe(true)
      expect(evidence.canarySamples).toBeGreaterThan(0.7 * 100 * evidence.intervals)
      expect(evidence.canarySamples).toBeLessThan(1.3 * 100 * (evidence.intervals + 1))
      expect(evidence.stableSamples / evidence.canarySamples).toBeCloseTo(2, 0)
      expect(evidence.canaryEvents! / evidence.canarySamples).toBeCloseTo(0.01, 2)
      expect(evidence.lower).toBeLessThan(1.25)
      expect(evaluation.message).toMatch(/^canary [\d.]+% \(\d+ of \d+\) failed vs stable [\d.]+% /)
    },
    30_000
  )

  it.each(routers)(
    '%s success-rate rejects a canary failing 20% of requests',
    async router => {
      const evaluation = await evaluateUntil(
        sequential({ template: 'success-rate' }),
        environment(router, 'v3'),
        e => e.verdict === 'fail'
      )
      expect(evaluation).toMatchObject({ verdict: 'fail', decisive: true })
      expect(evaluation.evidence!.lower).toBeGreaterThan(1.25)
      expect(evaluation.value).toBeGreaterThan(10)
      expect(evaluation.value).toBeLessThan(40)
    },
    30_000
  )

  it.each(routers)(
    '%s slow-requests counts requests above a bucket bound from the latency histogram',
    async router => {
      const check = sequential({ template: 'slow-requests', slowerThanMs: 250 })
      const healthy = await evaluateUntil(check, environment(router, 'v2'), enoughIntervals(2))
      expect(healthy).toMatchObject({
        verdict: 'pass',
        evidence: { measure: 'slow-share', canaryEvents: 0, stableEvents: 0 }
      })
      expect(healthy.message).toContain('no slow requests yet')
      const slow = await evaluateUntil(check, environment(router, 'v3'), e => e.verdict === 'fail')
      expect(slow).toMatchObject({ verdict: 'fail', decisive: true, evidence: { stableEvents: 0 } })
      // Every canary request is slow.
      expect(slow.evidence!.canaryEvents).toBe(slow.evidence!.canarySamples)
    },
    30_000
  )

  it('a query with $version and $window gives each interval one value per pod', async () => {
    const scope = 'destination_service_name="$service",destination_version="$version"'
    const query =
      `sum by (pod) (rate(istio_request_duration_milliseconds_sum{${scope}}[$window]))` +
      ` / sum by (pod) (rate(istio_request_duration_milliseconds_count{${scope}}[$window]))`
    // rate() needs two scrapes (1s apart) inside the window: evaluate every 2s.
    const env = (canary: string) => {
      const base = environment('VirtualService', canary)
      return { ...base, plan: { ...base.plan, analysis: { ...base.plan.analysis, intervalMs: 2000 } } }
    }
    const check = sequential({ query, quantile: 0.5, minSamples: 10 })
    const healthy = await evaluateUntil(check, env('v2'), enoughIntervals(2))
    expect(healthy).toMatchObject({ verdict: 'pass', evidence: { measure: 'quantile' } })
    // Up to one mean latency per pod and interval, all within the 30-45 ms the exporter draws.
    expect(healthy.evidence!.canarySamples).toBeLessThanOrEqual(10 * healthy.evidence!.intervals)
    expect(healthy.evidence!.estimate).toBeGreaterThan(0.8)
    expect(healthy.evidence!.estimate).toBeLessThan(1.2)

    const slow = await evaluateUntil(check, env('v3'), e => e.verdict === 'fail')
    expect(slow).toMatchObject({ verdict: 'fail', decisive: true })
    // 300-400 ms against 30-45 ms: about nine times slower.
    expect(slow.value).toBeGreaterThan(5)
    expect(slow.value).toBeLessThan(15)
  }, 40_000)

  it('reads the counters Prometheus holds, not extrapolated increases', async () => {
    // The canary's requests over the stage, as Prometheus' own raw counters say, against the check's count.
    const env = environment('VirtualService', 'v2')
    // A few seconds back, so that every scrape up to the last grid point is stored before either query; and
    // late enough in the stage for a few intervals of counts.
    const evaluateAt = (at: Date) =>
      evaluateCheck(sequential({ template: 'success-rate' }), { ...env, now: () => at })
    let evaluation = await evaluateAt(new Date(Date.now() - 3000))
    while ((evaluation.evidence?.intervals ?? 0) < 2) {
      await new Promise(resolve => setTimeout(resolve, 500))
      evaluation = await evaluateAt(new Date(Date.now() - 3000))
    }
    const end = new Date(startedAt.getTime() + evaluation.evidence!.intervals * INTERVAL_MS)
    const total = async (time: Date) => {
      const samples = await instantQuery(
        { url: prometheus.url },
        'sum(istio_requests_total{destination_service_name="reviews",destination_version="v2"})',
        { env: {}, time }
      )
      return samples[0]?.value ?? 0
    }
    expect(evaluation.evidence!.canarySamples).toBe((await total(end)) - (await total(startedAt)))
  }, 30_000)
})
