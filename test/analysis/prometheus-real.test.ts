import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { evaluateCheck } from '../../src/analysis/checks/index.js'
import type { CheckEnvironment, Evaluation } from '../../src/analysis/types.js'
import type { CompareCheck, PrometheusCheck, PrometheusTemplate, RouterKind } from '../../src/plan/types.js'
import {
  startIstioExporter,
  type IstioExporter,
  type TrafficProfile
} from '../../testkit/prometheus/istio-exporter.js'
import { startPrometheus, type PrometheusServer } from '../../testkit/prometheus/prometheus-server.js'
import { testEnvironment, testPlan } from './fixtures.js'

// Latencies stay inside one histogram bucket, where histogram_quantile interpolates linearly:
// p99 = lower bound + 0.99 * bucket width, the same in the millisecond and the second buckets.
const healthy: TrafficProfile = { rps: 100, errorRatio: 0.01, latencyMs: [30, 45] } // bucket (25, 50]
const failing: TrafficProfile = { rps: 100, errorRatio: 0.2, latencyMs: [600, 900] } // bucket (500, 1000]
const HEALTHY_P99 = 25 + 0.99 * 25
const FAILING_P99 = 500 + 0.99 * 500

const routers: RouterKind[] = ['VirtualService', 'RouteRule']

let exporter: IstioExporter
let prometheus: PrometheusServer
let startedAt: Date

beforeAll(async () => {
  exporter = await startIstioExporter({ service: 'reviews', namespace: 'default' })
  exporter.setVersion('v1', healthy)
  exporter.setVersion('v2', healthy)
  // A canary that fails from the start: its rate windows never mix healthy and failing traffic.
  exporter.setVersion('v3', failing)
  // A canary that answers nothing but errors: its success rate must read 0, not "no data".
  exporter.setVersion('v4', { ...failing, errorRatio: 1 })
  prometheus = await startPrometheus({ targets: [exporter.url] })
  startedAt = new Date()
}, 40_000)

afterAll(async () => {
  await prometheus?.close()
  await exporter?.close()
})

function environment(router: RouterKind, canary: string, stageStartedAt = startedAt): CheckEnvironment {
  const plan = testPlan({ router, canary, stable: 'v1' })
  return testEnvironment({
    plan: { ...plan, analysis: { ...plan.analysis, intervalMs: 1000 } },
    stageStartedAt
  })
}

function templateCheck(
  template: PrometheusTemplate,
  bounds: Pick<PrometheusCheck, 'min' | 'max'>
): PrometheusCheck {
  return { kind: 'prometheus', name: template, prometheus: { url: prometheus.url }, template, ...bounds }
}

const successRate = () => templateCheck('success-rate', { min: 0.98 })
const latencyP99 = () => templateCheck('latency-p99', { max: 100 })

function meanLatencyComparison(): CompareCheck {
  const scope = 'destination_service_name="$service",destination_version="$version"'
  return {
    kind: 'compare',
    name: 'latency-vs-stable',
    prometheus: { url: prometheus.url },
    query:
      `sum(rate(istio_request_duration_milliseconds_sum{${scope}}[3s]))` +
      ` / sum(rate(istio_request_duration_milliseconds_count{${scope}}[3s]))`,
    direction: 'increase',
    tolerance: 0.25,
    confidence: 0.98
  }
}

/** Evaluates until `done` holds or the time is up, and returns the last evaluation either way. */
async function evaluateUntil(
  check: PrometheusCheck | CompareCheck,
  env: CheckEnvironment,
  done: (evaluation: Evaluation) => boolean,
  timeoutMs = 25_000
): Promise<Evaluation> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const evaluation = await evaluateCheck(check, env)
    if (done(evaluation) || Date.now() > deadline) return evaluation
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

const near = (expected: number, tolerance: number) => (evaluation: Evaluation) =>
  evaluation.value !== null && Math.abs(evaluation.value - expected) <= tolerance

// The tests run in order: the canary v2 is healthy first, then starts failing.
describe('checks against a real Prometheus', () => {
  it.each(routers)(
    '%s success rate of a canary failing every request is 0',
    async router => {
      const rate = await evaluateUntil(successRate(), environment(router, 'v4'), e => e.value !== null)
      expect(rate).toMatchObject({ verdict: 'fail', value: 0 })
    },
    30_000
  )

  it.each(routers)(
    '%s templates measure a healthy canary',
    async router => {
      const env = environment(router, 'v2')
      const rate = await evaluateUntil(successRate(), env, near(0.99, 0.005))
      expect(rate).toMatchObject({ verdict: 'pass', threshold: '>= 0.98' })
      expect(rate.value).toBeCloseTo(0.99, 2)
      const p99 = await evaluateUntil(latencyP99(), env, near(HEALTHY_P99, 0.5))
      expect(p99).toMatchObject({ verdict: 'pass', threshold: '<= 100' })
      expect(p99.value).toBeCloseTo(HEALTHY_P99, 0)
    },
    30_000
  )

  it.each(routers)(
    '%s templates measure a failing canary',
    async router => {
      const env = environment(router, 'v3')
      const rate = await evaluateUntil(successRate(), env, near(0.8, 0.01))
      expect(rate.verdict).toBe('fail')
      expect(rate.value).toBeCloseTo(0.8, 1)
      const p99 = await evaluateUntil(latencyP99(), env, near(FAILING_P99, 5))
      expect(p99.verdict).toBe('fail')
      expect(p99.value).toBeCloseTo(FAILING_P99, -1)
    },
    30_000
  )

  it('compare passes a canary that behaves like stable', async () => {
    const comparison = await evaluateUntil(
      meanLatencyComparison(),
      environment('VirtualService', 'v2'),
      e => {
        return e.verdict !== 'nodata'
      }
    )
    expect(comparison.verdict).toBe('pass')
    expect(Math.abs(comparison.details?.effectSize ?? Infinity)).toBeLessThan(0.1)
    expect(comparison.details?.canarySamples).toBeGreaterThanOrEqual(10)
  }, 30_000)

  it('detects the canary turning unhealthy', async () => {
    exporter.setVersion('v2', failing)
    const failingSince = new Date()
    for (const router of routers) {
      const env = environment(router, 'v2', failingSince)
      const rate = await evaluateUntil(successRate(), env, e => e.verdict === 'fail')
      expect(rate.verdict).toBe('fail')
      // The rate window still holds healthy traffic, so the value lies between the two ratios.
      expect(rate.value).toBeGreaterThan(0.8 - 0.01)
      const p99 = await evaluateUntil(latencyP99(), env, e => e.verdict === 'fail')
      expect(p99.verdict).toBe('fail')
      expect(p99.value).toBeGreaterThan(500)
      expect(p99.value).toBeLessThanOrEqual(1000)
    }

    const comparison = await evaluateUntil(
      meanLatencyComparison(),
      environment('VirtualService', 'v2', failingSince),
      e => e.verdict !== 'nodata'
    )
    expect(comparison.verdict).toBe('fail')
    expect(comparison.details?.effectSize).toBeGreaterThan(10)
    expect(comparison.details?.p).toBeLessThan(0.02)
  }, 40_000)
})
