import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { evaluateCheck } from '../../src/analysis/checks/index.js'
import type { CheckEnvironment, Evaluation } from '../../src/analysis/types.js'
import type { CompareCheck } from '../../src/analysis/checks/compare.js'
import type { PrometheusCheck } from '../../src/analysis/checks/prometheus.js'
import type { PrometheusTemplate, RouterKind } from '../../src/plan/types.js'
import {
  startIstioExporter,
  type IstioExporter,
  type TrafficProfile
} from '../../testkit/prometheus/istio-exporter.js'
import { startPrometheus, type PrometheusServer } from '../../testkit/prometheus/prometheus-server.js'
import { ROUTERS } from '../../src/routers/registry.js'
import { testEnvironment, testPlan } from './fixtures.js'

// Latencies stay inside one histogram bucket, where histogram_quantile interpolates linearly:
// p99 = lower bound + 0.99 * bucket width, the same in the millisecond and the second buckets.
const healthy: TrafficProfile = { rps: 100, errorRatio: 0.01, latencyMs: [30, 45] } // bucket (25, 50]
const failing: TrafficProfile = { rps: 100, errorRatio: 0.2, latencyMs: [600, 900] } // bucket (500, 1000]
const HEALTHY_P99 = 25 + 0.99 * 25
const FAILING_P99 = 500 + 0.99 * 500

/** A router and the telemetry its templates read: HTTPRoute with sidecars, and with ambient waypoints. */
interface Telemetry {
  name: string
  router: RouterKind
  namespace: string
}
const telemetries: Telemetry[] = [
  { name: 'VirtualService', router: 'VirtualService', namespace: 'default' },
  { name: 'RouteRule', router: 'RouteRule', namespace: 'default' },
  { name: 'HTTPRoute (sidecars)', router: 'HTTPRoute', namespace: 'default' },
  { name: 'HTTPRoute (ambient waypoint)', router: 'HTTPRoute', namespace: 'ambient' }
]
const routers = telemetries.map(telemetry => [telemetry.name, telemetry] as const)

let exporters: IstioExporter[] = []
let prometheus: PrometheusServer
let startedAt: Date

/** Sets a version's traffic as every kind of telemetry sees it. */
function setVersion(version: string, profile: TrafficProfile) {
  for (const exporter of exporters) exporter.setVersion(version, profile)
}

beforeAll(async () => {
  exporters = await Promise.all([
    // Subsets: one Service, versions by label.
    startIstioExporter({ service: 'reviews', namespace: 'default' }),
    // Gateway API backends: a Service per version, reported by the destination's sidecar or by a waypoint.
    startIstioExporter({ service: 'reviews', namespace: 'default', destination: 'backend-service' }),
    startIstioExporter({
      service: 'reviews',
      namespace: 'ambient',
      destination: 'backend-service',
      reporter: 'waypoint'
    })
  ])
  setVersion('v1', healthy)
  setVersion('v2', healthy)
  // A canary that fails from the start: its rate windows never mix healthy and failing traffic.
  setVersion('v3', failing)
  // A canary that answers nothing but errors: its success rate must read 0, not "no data".
  setVersion('v4', { ...failing, errorRatio: 1 })
  prometheus = await startPrometheus({ targets: exporters.map(exporter => exporter.url) })
  startedAt = new Date()
}, 40_000)

afterAll(async () => {
  await prometheus?.close()
  await Promise.all(exporters.map(exporter => exporter.close()))
})

function environment(
  { router, namespace }: Pick<Telemetry, 'router' | 'namespace'>,
  canary: string,
  stageStartedAt = startedAt
): CheckEnvironment {
  const base = testPlan({ router, canary, stable: 'v1', namespace })
  const plan = { ...base, analysis: { ...base.analysis, intervalMs: 1000 } }
  return testEnvironment({
    plan,
    stageStartedAt,
    // The engine hands each check the templates of the plan's router.
    metricTemplate: (template, window) => ROUTERS[router].metricTemplate(template, window, plan)
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
    method: 'mann-whitney',
    name: 'latency-vs-stable',
    prometheus: { url: prometheus.url },
    query:
      `sum(rate(istio_request_duration_milliseconds_sum{${scope}}[3s]))` +
      ` / sum(rate(istio_request_duration_milliseconds_count{${scope}}[3s]))`,
    direction: 'increase',
    tolerance: 0.25,
    confidence: 0.98,
    minSamples: 10
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
    async (_name, telemetry) => {
      const rate = await evaluateUntil(successRate(), environment(telemetry, 'v4'), e => e.value !== null)
      expect(rate).toMatchObject({ verdict: 'fail', value: 0 })
    },
    30_000
  )

  it.each(routers)(
    '%s templates measure a healthy canary',
    async (_name, telemetry) => {
      const env = environment(telemetry, 'v2')
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
    async (_name, telemetry) => {
      const env = environment(telemetry, 'v3')
      const rate = await evaluateUntil(successRate(), env, near(0.8, 0.01))
      expect(rate.verdict).toBe('fail')
      expect(rate.value).toBeCloseTo(0.8, 1)
      const p99 = await evaluateUntil(latencyP99(), env, near(FAILING_P99, 5))
      expect(p99.verdict).toBe('fail')
      expect(p99.value).toBeCloseTo(FAILING_P99, -1)
    },
    30_000
  )

  it("each router's templates read only their own telemetry: waypoint series are HTTPRoute's alone", async () => {
    // Wait until the waypoint's series are in, then ask the subset-style template in the same namespace.
    await evaluateUntil(successRate(), environment(telemetries[3], 'v2'), e => e.value !== null)
    const subsets = await evaluateCheck(
      successRate(),
      environment({ router: 'VirtualService', namespace: 'ambient' }, 'v2')
    )
    expect(subsets).toMatchObject({ verdict: 'nodata', value: null })
  }, 30_000)

  it('compare passes a canary that behaves like stable', async () => {
    const comparison = await evaluateUntil(meanLatencyComparison(), environment(telemetries[0], 'v2'), e => {
      return e.verdict !== 'nodata'
    })
    expect(comparison.verdict).toBe('pass')
    expect(Math.abs(comparison.details?.effectSize ?? Infinity)).toBeLessThan(0.1)
    expect(comparison.details?.canarySamples).toBeGreaterThanOrEqual(10)
  }, 30_000)

  it('detects the canary turning unhealthy', async () => {
    setVersion('v2', failing)
    const failingSince = new Date()
    for (const telemetry of telemetries) {
      const env = environment(telemetry, 'v2', failingSince)
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
      environment(telemetries[0], 'v2', failingSince),
      e => e.verdict !== 'nodata'
    )
    expect(comparison.verdict).toBe('fail')
    expect(comparison.details?.effectSize).toBeGreaterThan(10)
    expect(comparison.details?.p).toBeLessThan(0.02)
  }, 40_000)
})
