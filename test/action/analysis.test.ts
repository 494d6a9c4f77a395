/**
 * Health analysis end to end: the action watches a stage with checks evaluated by real Prometheus, rolls back
 * within one interval of the failing evaluation, and handles cancellation (SIGINT, and SIGKILL + post step).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { instantQuery } from '../../src/analysis/prometheus-client.js'
import { bookinfoObjects } from '../../testkit/bookinfo.js'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { startIstioExporter, type IstioExporter } from '../../testkit/prometheus/istio-exporter.js'
import { startPrometheus, type PrometheusServer } from '../../testkit/prometheus/prometheus-server.js'
import { runAction, startAction } from '../../testkit/run-action.js'

const NETWORKING = 'networking.istio.io/v1'
const HEALTHY = { rps: 40, errorRatio: 0, latencyMs: [5, 20] as [number, number] }

function reviewsRoute(api: KubeApi): unknown[] {
  const spec = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')?.spec as {
    http: { route: unknown[] }[]
  }
  return spec.http.at(-1)!.route
}

const PINNED = [
  { destination: { host: 'reviews.default.svc.cluster.local', subset: 'v1', port: { number: 9080 } } }
]

describe('checks evaluated by real Prometheus', () => {
  let api: KubeApi
  let exporter: IstioExporter
  let prometheus: PrometheusServer
  let plan: string

  beforeAll(async () => {
    api = await startKubeApi()
    api.seed(bookinfoObjects())
    exporter = await startIstioExporter({ service: 'reviews', namespace: 'default' })
    exporter.setVersion('v1', HEALTHY)
    exporter.setVersion('v2', HEALTHY)
    prometheus = await startPrometheus({ targets: [exporter.url] })
    // Wait until the success-rate of v2 has samples: the rate window needs two scrapes.
    const source = { url: prometheus.url }
    for (let i = 0; i < 100; i++) {
      const samples = await instantQuery(
        source,
        'sum(rate(istio_requests_total{destination_version="v2"}[1m]))',
        {
          env: {}
        }
      )
      if (samples.length > 0 && samples[0].value > 0) break
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    plan = `
service: reviews
stable: v1
canary: v2
stages:
  - weight: 20
  - weight: 50
    bake: 60s
analysis:
  interval: 1s
  bake: 2s
  failureLimit: 1
  checks:
    - name: success-rate
      prometheus:
        url: ${prometheus.url}
        template: success-rate
        min: 0.95
    - name: canary-pods
      kubernetes: { maxRestarts: 0 }
`
  }, 90_000)

  afterAll(async () => {
    await prometheus?.close()
    await exporter?.close()
    await api?.close()
  })

  it('passes a healthy stage after its bake, reporting every evaluation', async () => {
    const result = await runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' } })
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage: '20%', weight: '20' })
    expect(result.stdout).toMatch(/\[\d+(ms|s)\/2s\] success-rate 1 >= 0\.95 ok/)
    const evaluations = (
      result.report as { evaluations: { check: string; verdict: string; value: number }[] }
    ).evaluations
    expect(evaluations.filter(e => e.check === 'success-rate').length).toBeGreaterThanOrEqual(2)
    expect(evaluations.every(e => e.verdict === 'pass')).toBe(true)
  }, 60_000)

  it('rolls back within one interval of the first failing evaluation', async () => {
    const running = startAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' } })
    await running.waitForOutput(/success-rate [\d.]+ >= 0\.95 ok/)
    exporter.setVersion('v2', { ...HEALTHY, errorRatio: 1 })
    const result = await running.result
    exporter.setVersion('v2', HEALTHY)
    expect(result.exitCode).toBe(1)
    expect(result.outputs).toMatchObject({ status: 'rolled-back', weight: '0' })
    expect(reviewsRoute(api)).toEqual(PINNED)
    const report = result.report as {
      evaluations: { check: string; verdict: string; at: string }[]
      rollback: { check: string; at: string; reason: string }
    }
    expect(report.rollback.check).toBe('success-rate')
    const firstFailure = report.evaluations.find(e => e.verdict === 'fail')!
    const reaction = Date.parse(report.rollback.at) - Date.parse(firstFailure.at)
    expect(reaction).toBeLessThan(1000)
    expect(result.annotations.find(a => a.kind === 'error')?.message).toMatch(
      /rolled back to v1: success-rate/
    )
  }, 90_000)
})

describe('cancellation and verify', () => {
  let healthStatus = 200
  let api: KubeApi
  let health: Server
  let plan: string

  beforeAll(async () => {
    health = createServer((_req, res) => {
      res.statusCode = healthStatus
      res.end('ok')
    }).listen(0, '127.0.0.1')
    await new Promise(resolve => health.once('listening', resolve))
    const port = (health.address() as AddressInfo).port
    plan = `
service: reviews
stable: v1
canary: v2
stages:
  - weight: 10
analysis:
  interval: 500ms
  bake: 60s
  checks:
    - name: smoke
      http: { url: "http://127.0.0.1:${port}/" }
`
  })
  afterAll(async () => {
    await new Promise(resolve => health.close(resolve))
  })

  beforeEach(async () => {
    api = await startKubeApi()
    api.seed(bookinfoObjects())
  })
  afterEach(() => api.close())

  it('SIGINT during the watch restores the routing and exits within 5 seconds', async () => {
    const running = startAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' } })
    await running.waitForOutput(/smoke 200 .* ok/)
    expect(reviewsRoute(api)).toHaveLength(2)
    const signalledAt = Date.now()
    running.child.kill('SIGINT')
    const result = await running.result
    const exitMs = Date.now() - signalledAt
    expect(exitMs).toBeLessThan(5000)
    // A cancellation rollback did what onCancel asked: a warning, not a failed check.
    expect(result.exitCode).toBe(0)
    expect(result.annotations).toContainEqual({
      kind: 'warning',
      message: 'rolled-back: cancelled: rolled back to v1'
    })
    expect(result.outputs.status).toBe('rolled-back')
    expect(reviewsRoute(api)).toEqual(PINNED)
  }, 60_000)

  it('SIGKILL during the watch leaves the post step to restore the routing', async () => {
    const running = startAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' } })
    await running.waitForOutput(/smoke 200 .* ok/)
    running.child.kill('SIGKILL')
    const killed = await running.result
    expect(killed.signal).toBe('SIGKILL')
    expect(reviewsRoute(api)).toHaveLength(2)
    const post = await runAction({
      inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' },
      files: killed.files,
      post: true
    })
    expect(post.exitCode).toBe(0)
    expect(post.outputs.status).toBe('rolled-back')
    expect(reviewsRoute(api)).toEqual(PINNED)
  }, 60_000)

  it('the post step does nothing after a main step that finished', async () => {
    const quick = plan.replace('bake: 60s', 'bake: 1s')
    const main = await runAction({ inputs: { plan: quick, kubeconfig: api.kubeconfig(), report: 'none' } })
    expect(main.exitCode).toBe(0)
    api.clearRequests()
    const post = await runAction({
      inputs: { plan: quick, kubeconfig: api.kubeconfig(), report: 'none' },
      files: main.files,
      post: true
    })
    expect(post.exitCode).toBe(0)
    expect(api.requests).toEqual([])
  }, 60_000)

  it('verify watches the current stage: healthy writes nothing; failing rolls back', async () => {
    const quick = plan
      .replace('bake: 60s', 'bake: 1s')
      .replace('  - weight: 10', '  - weight: 10\n  - weight: 50')
    expect(
      (await runAction({ inputs: { plan: quick, kubeconfig: api.kubeconfig(), report: 'none' } })).exitCode
    ).toBe(0)
    api.clearRequests()
    const healthy = await runAction({
      inputs: { plan: quick, kubeconfig: api.kubeconfig(), report: 'none', command: 'verify' }
    })
    expect(healthy.exitCode).toBe(0)
    expect(healthy.outputs).toMatchObject({ status: 'healthy', stage: '10%', weight: '10' })
    expect(api.writes()).toEqual([])

    healthStatus = 503
    try {
      const failing = await runAction({
        inputs: { plan: quick, kubeconfig: api.kubeconfig(), report: 'none', command: 'verify' }
      })
      expect(failing.exitCode).toBe(1)
      expect(failing.outputs).toMatchObject({ status: 'rolled-back', weight: '0' })
      expect(reviewsRoute(api)).toEqual(PINNED)
    } finally {
      healthStatus = 200
    }
  }, 60_000)

  it('a stage whose run died mid-watch is watched again by the next advance, not skipped', async () => {
    const two = plan
      .replace('  - weight: 10', '  - weight: 10\n  - weight: 50')
      .replace('bake: 60s', 'bake: 60s\n  onCancel: keep')
    const running = startAction({ inputs: { plan: two, kubeconfig: api.kubeconfig(), report: 'none' } })
    await running.waitForOutput(/smoke 200 .* ok/)
    running.child.kill('SIGKILL')
    await running.result

    const rerun = await runAction({
      inputs: { plan: two.replace('bake: 60s', 'bake: 1s'), kubeconfig: api.kubeconfig(), report: 'none' }
    })
    expect(rerun.exitCode).toBe(0)
    expect(rerun.stdout).toContain('Resume stage 1/2: 10%')
    expect(rerun.stdout).toMatch(/smoke 200 .* ok/)
    expect(rerun.outputs).toMatchObject({ status: 'advanced', stage: '10%', 'next-stage': '50%' })
  }, 60_000)
})
