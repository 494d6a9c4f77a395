/**
 * Inconclusive outcomes and sequential checks through the action, with checks evaluated by a real
 * Prometheus: a stage without enough data is held (status `inconclusive`, stage kept, step succeeds with a
 * warning, the report says what had no data and what to do), the next advance watches it again, verify never
 * rolls back on it; per-check onNoData overrides the analysis one; compare's minSamples; a sequential
 * rejection rolls back at once, and the report shows its evidence.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { instantQuery } from '../../src/analysis/prometheus-client.js'
import { bookinfoObjects } from '../../testkit/bookinfo.js'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { startIstioExporter, type IstioExporter } from '../../testkit/prometheus/istio-exporter.js'
import { startPrometheus, type PrometheusServer } from '../../testkit/prometheus/prometheus-server.js'
import { runAction } from '../../testkit/run-action.js'
import { NETWORKING, releaseState } from '../reliability/helpers.js'

const STABLE = { rps: 200, errorRatio: 0.01, latencyMs: [20, 40] as [number, number], pods: 5 }
const HEALTHY = { rps: 100, errorRatio: 0.01, latencyMs: [20, 40] as [number, number], pods: 5 }
const SILENT = { ...HEALTHY, rps: 0 }

let exporter: IstioExporter
let prometheus: PrometheusServer
let api: KubeApi

beforeAll(async () => {
  exporter = await startIstioExporter({ service: 'reviews', namespace: 'default' })
  exporter.setVersion('v1', STABLE)
  exporter.setVersion('v2', HEALTHY)
  prometheus = await startPrometheus({ targets: [exporter.url] })
  // The canary's counters exist before the first test, as a deployed canary's would.
  for (let i = 0; i < 100; i++) {
    const samples = await instantQuery(
      { url: prometheus.url },
      'sum(istio_requests_total{destination_version="v2"})',
      { env: {} }
    )
    if ((samples[0]?.value ?? 0) > 0) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}, 60_000)

afterAll(async () => {
  await prometheus?.close()
  await exporter?.close()
})

beforeEach(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
})
afterEach(() => api.close())

function reviewsWeights(): number[] {
  const spec = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')?.spec as {
    http: { route: { weight?: number }[] }[]
  }
  return spec.http.at(-1)!.route.map(route => route.weight ?? 100)
}

/** A two-stage plan whose analysis and checks are given. */
function plan(analysis: string, checks: string): string {
  return `
service: reviews
stable: v1
canary: v2
stages:
  - weight: 20
  - weight: 50
analysis:
  interval: 1s
${analysis}
  checks:
${checks}`
}

const errorsVsStable = (extra = '') => `    - name: errors-vs-stable
      compare:
        method: sequential
        prometheus: { url: "${prometheus.url}", template: success-rate }
${extra}`

function run(planText: string, command = 'advance') {
  return runAction({
    inputs: { plan: planText, kubeconfig: api.kubeconfig(), report: 'summary', command }
  })
}

describe('a stage without enough data', () => {
  afterEach(() => exporter.setVersion('v2', HEALTHY))

  it('is held, verified without a rollback, and watched again by the next advance', async () => {
    exporter.setVersion('v2', SILENT)
    const text = plan('  bake: 3s\n  onNoData: inconclusive', errorsVsStable())
    const held = await run(text)
    expect(held.exitCode).toBe(0)
    expect(held.outputs).toMatchObject({ status: 'inconclusive', stage: '20%', weight: '20' })
    expect(held.annotations).toContainEqual({
      kind: 'warning',
      message:
        'stage 1 (20%) is held: no data from errors-vs-stable; send traffic to the canary, lower minSamples, or roll back'
    })
    expect(reviewsWeights()).toEqual([80, 20])
    expect(releaseState(api, 'VirtualService')).toMatchObject({ phase: 'held', noData: ['errors-vs-stable'] })
    const report = held.report as { noData: { check: string; message: string }[] }
    expect(report.noData).toEqual([
      expect.objectContaining({
        check: 'errors-vs-stable',
        message: expect.stringContaining('fewer than 50 requests on a version')
      })
    ])
    // The job summary (the PR comment's text) names the check and the three ways on.
    expect(held.summary).toContain('**❔ Held:** stage `20%` stays applied')
    expect(held.summary).toMatch(/- `errors-vs-stable`: canary .* fewer than 50 requests on a version/)
    expect(held.summary).toContain('- send traffic to the canary, then run `advance` again')
    expect(held.summary).toContain('- lower `minSamples`')
    expect(held.summary).toContain('`/canary rollback`')
    expect(held.summary).toContain('❔ held (no data)')
    expect(held.summary).not.toContain('To apply the next stage')

    // verify never rolls back on missing data: nothing is written.
    api.clearRequests()
    const verified = await run(text.replace('bake: 3s', 'bake: 3s\n  verifyWindow: 2s'), 'verify')
    expect(verified.exitCode).toBe(0)
    expect(verified.outputs).toMatchObject({ status: 'inconclusive', stage: '20%', weight: '20' })
    expect(verified.annotations.find(a => a.kind === 'warning')?.message).toMatch(
      /no data from errors-vs-stable; nothing was changed/
    )
    expect(verified.summary).toContain('**❔ Inconclusive:** nothing was changed')
    expect(api.writes()).toEqual([])
    expect(reviewsWeights()).toEqual([80, 20])

    // With traffic, the next advance watches the same stage again and passes it.
    exporter.setVersion('v2', HEALTHY)
    const rewatched = await run(text)
    expect(rewatched.exitCode).toBe(0)
    expect(rewatched.stdout).toContain('Resume stage 1/2: 20%')
    expect(rewatched.outputs).toMatchObject({ status: 'advanced', stage: '20%', 'next-stage': '50%' })
    expect(releaseState(api, 'VirtualService')).toMatchObject({ phase: 'passed', stageIndex: 1 })
    expect(releaseState(api, 'VirtualService')?.noData).toBeUndefined()
    // The evidence of a passing canary: its bounds, and how far it is from a rollback.
    // (Markdown-escaped: the brackets and a leading minus stay text.)
    expect(rewatched.summary).toMatch(
      /\| `errors-vs-stable` \| failure rate × [\d.]+ \| \\\[[\d.]+, (∞|[\d.]+)\\\] at 95% \| ≤ 1\.25 \| (\\-)?[\d\\.]+ of 3\.00: /
    )
  }, 90_000)

  it("follows each check's own onNoData over the analysis one", async () => {
    exporter.setVersion('v2', SILENT)
    // Analysis-wide fail, the check inconclusive: held.
    const override = plan(
      '  bake: 2s\n  onNoData: fail',
      errorsVsStable().replace(
        '    - name: errors-vs-stable\n',
        '    - name: errors-vs-stable\n      onNoData: inconclusive\n'
      )
    )
    const held = await run(override)
    expect(held.exitCode).toBe(0)
    expect(held.outputs.status).toBe('inconclusive')

    // Analysis-wide inconclusive, the check fail: no data is a failure and rolls back.
    api.close()
    api = await startKubeApi()
    api.seed(bookinfoObjects())
    const strict = plan(
      '  bake: 2s\n  failureLimit: 2\n  onNoData: inconclusive',
      errorsVsStable().replace(
        '    - name: errors-vs-stable\n',
        '    - name: errors-vs-stable\n      onNoData: fail\n'
      )
    )
    const failed = await run(strict)
    expect(failed.exitCode).toBe(1)
    expect(failed.outputs).toMatchObject({ status: 'rolled-back', weight: '0' })
    expect(failed.stdout).toMatch(/errors-vs-stable no data FAIL \(2\/2\)/)
  }, 60_000)

  it('compare with fewer than minSamples per version is no data, not a pass', async () => {
    // A healthy canary, but a 2-second stage gives a Mann-Whitney compare far fewer than 50 points.
    const query =
      'sum(rate(istio_request_duration_milliseconds_sum{destination_version=\\"$version\\"}[2s]))' +
      ' / sum(rate(istio_request_duration_milliseconds_count{destination_version=\\"$version\\"}[2s]))'
    const compare = `    - name: latency-vs-stable
      onNoData: inconclusive
      compare:
        prometheus: { url: "${prometheus.url}", query: "${query}" }
`
    const held = await run(plan('  bake: 2s', compare))
    expect(held.exitCode).toBe(0)
    expect(held.outputs.status).toBe('inconclusive')
    expect(held.summary).toMatch(
      /`latency-vs-stable`: not enough samples \(canary \d+, stable \d+, need 50 each\)/
    )
  }, 60_000)
})

describe('a sequential rejection', () => {
  afterEach(() => exporter.setVersion('v2', HEALTHY))

  it('rolls back at once, without waiting for failureLimit, and the report shows the evidence', async () => {
    exporter.setVersion('v2', { ...HEALTHY, errorRatio: 0.3 })
    const result = await run(
      plan('  bake: 20s\n  failureLimit: 5\n  onNoData: ignore', errorsVsStable('        alpha: 0.01\n'))
    )
    expect(result.exitCode).toBe(1)
    expect(result.outputs).toMatchObject({ status: 'rolled-back', weight: '0' })
    expect(reviewsWeights()).toEqual([100])
    const report = result.report as {
      evaluations: { check: string; verdict: string }[]
      rollback: { check: string; value: number; threshold: string; reason: string }
    }
    // One failed evaluation was enough: failureLimit 5 did not apply.
    expect(report.evaluations.filter(e => e.verdict === 'fail')).toHaveLength(1)
    expect(report.rollback).toMatchObject({
      check: 'errors-vs-stable',
      threshold: 'failure-rate ratio <= 1.25 (alpha 0.01)'
    })
    expect(report.rollback.value).toBeGreaterThan(10)
    expect(report.rollback.reason).toMatch(/failure rate higher beyond 25%/)
    expect(result.stdout).toMatch(
      /errors-vs-stable [\d.]+ failure-rate ratio <= 1\.25 \(alpha 0\.01\) FAIL \(decisive\)/
    )
    // The rollback names the check, its value and the bound; the evidence table the bound it crossed.
    expect(result.summary).toMatch(
      /\| errors-vs-stable \| [\d.]+ \| failure-rate ratio \\<= 1\.25 \(alpha 0\.01\) \| ❌ fail \|/
    )
    expect(result.summary).toContain('#### Canary against stable (sequential)')
    expect(result.summary).toMatch(
      /\| `errors-vs-stable` \| failure rate × [\d.]+ \| \\\[[\d.]+, [\d.]+\\\] at 99% \| ≤ 1\.25 \|/
    )
    expect(result.summary).toMatch(/threshold reached: rolled back \(\*\*lower bound [\d.]+ \\> 1\.25\*\*\)/)
  }, 60_000)
})
