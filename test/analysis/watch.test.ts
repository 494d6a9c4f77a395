import { afterEach, describe, expect, it } from '@jest/globals'
import type { WatchOptions } from '../../src/analysis/types.js'
import { formatProgress } from '../../src/analysis/progress.js'
import { watchStage } from '../../src/analysis/watch.js'
import type { KubernetesCheck } from '../../src/analysis/checks/kubernetes.js'
import type { PrometheusCheck } from '../../src/analysis/checks/prometheus.js'
import type { CheckBase as Check } from '../../src/plan/types.js'
import { sendJson, startStubServer, testEnvironment, vectorResult, type StubServer } from './fixtures.js'

let stub: StubServer | undefined
afterEach(async () => {
  await stub?.close()
  stub = undefined
})

const podsCheck: KubernetesCheck = { kind: 'kubernetes', name: 'canary-pods', maxRestarts: 0 }

/** A kubernetes check environment whose rounds see these restart counts (a count above 0 fails); then 0. */
function restartsPerRound(...restarts: number[]) {
  const remaining = [...restarts]
  return testEnvironment({
    readCanaryPods: async () => ({
      deployments: [{ name: 'reviews-v2', available: true }],
      maxRestarts: remaining.shift() ?? 0
    })
  })
}

function options(overrides: Partial<WatchOptions>): WatchOptions & { lines: string[] } {
  const lines: string[] = []
  return {
    env: testEnvironment(),
    durationMs: 200,
    intervalMs: 50,
    failureLimit: 1,
    onNoData: 'fail',
    signal: new AbortController().signal,
    onProgress: event => lines.push(formatProgress(event)),
    lines,
    ...overrides
  }
}

async function prometheusWithNoData(): Promise<PrometheusCheck> {
  stub = await startStubServer((_request, response) => sendJson(response, 200, vectorResult()))
  return { kind: 'prometheus', name: 'success-rate', prometheus: { url: stub.url }, query: 'x', min: 0.99 }
}

describe('watchStage', () => {
  it('evaluates every check each interval until the duration and passes', async () => {
    const opts = options({ env: restartsPerRound() })
    const outcome = await watchStage([podsCheck, { ...podsCheck, name: 'more-pods' }], opts)
    expect(outcome.result).toBe('passed')
    expect(outcome.evaluations).toHaveLength(8)
    expect(opts.lines).toEqual([
      '[50ms/200ms] canary-pods 0 available, restarts <= 0 ok',
      '[50ms/200ms] more-pods 0 available, restarts <= 0 ok',
      '[100ms/200ms] canary-pods 0 available, restarts <= 0 ok',
      '[100ms/200ms] more-pods 0 available, restarts <= 0 ok',
      '[150ms/200ms] canary-pods 0 available, restarts <= 0 ok',
      '[150ms/200ms] more-pods 0 available, restarts <= 0 ok',
      '[200ms/200ms] canary-pods 0 available, restarts <= 0 ok',
      '[200ms/200ms] more-pods 0 available, restarts <= 0 ok'
    ])
  })

  it('ends with a last round at the end when the duration is not a multiple of the interval', async () => {
    const opts = options({ env: restartsPerRound(), durationMs: 120 })
    expect((await watchStage([podsCheck], opts)).result).toBe('passed')
    expect(opts.lines.map(line => line.slice(0, line.indexOf(']') + 1))).toEqual([
      '[50ms/120ms]',
      '[100ms/120ms]',
      '[120ms/120ms]'
    ])
  })

  it('evaluates at once when the duration is shorter than the interval', async () => {
    const opts = options({ env: restartsPerRound(), durationMs: 0, intervalMs: 60_000 })
    const started = Date.now()
    expect((await watchStage([podsCheck], opts)).result).toBe('passed')
    expect(opts.lines).toEqual(['[0s/0s] canary-pods 0 available, restarts <= 0 ok'])
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('fails fast: right after the failing round, not after the whole duration', async () => {
    const opts = options({ env: restartsPerRound(0, 3), durationMs: 60_000 })
    const started = Date.now()
    const outcome = await watchStage([podsCheck], opts)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(outcome.result).toBe('failed')
    if (outcome.result !== 'failed') return
    expect(outcome.failing).toMatchObject({ check: 'canary-pods', verdict: 'fail', value: 3 })
    expect(outcome.evaluations).toHaveLength(2)
    expect(opts.lines[1]).toBe(
      '[100ms/1m] canary-pods 3 available, restarts <= 0 FAIL (1/1): ' +
        'reviews-v2: a container restarted 3 times (at most 0)'
    )
  })

  it('needs failureLimit consecutive failures; a pass resets the count', async () => {
    const opts = options({ env: restartsPerRound(1, 0, 1, 1), durationMs: 60_000, failureLimit: 2 })
    const outcome = await watchStage([podsCheck], opts)
    expect(outcome.result).toBe('failed')
    expect(outcome.evaluations.map(evaluation => evaluation.verdict)).toEqual([
      'fail',
      'pass',
      'fail',
      'fail'
    ])
    expect(opts.lines.map(line => line.match(/ok$|FAIL \(\d\/\d\)/)?.[0])).toEqual([
      'FAIL (1/2)',
      'ok',
      'FAIL (1/2)',
      'FAIL (2/2)'
    ])
  })

  it('counts no data as a failure when onNoData is fail', async () => {
    const opts = options({ durationMs: 60_000, onNoData: 'fail' })
    const outcome = await watchStage([await prometheusWithNoData()], opts)
    expect(outcome.result).toBe('failed')
    expect(opts.lines).toEqual(['[50ms/1m] success-rate no data FAIL (1/1)'])
  })

  it('ignores no data when onNoData is ignore', async () => {
    const opts = options({ onNoData: 'ignore', failureLimit: 1 })
    const outcome = await watchStage([await prometheusWithNoData()], opts)
    expect(outcome.result).toBe('passed')
    expect(opts.lines).toHaveLength(4)
    expect(opts.lines[0]).toBe('[50ms/200ms] success-rate no data')
  })

  it('is cancelled promptly while waiting for the next round', async () => {
    const controller = new AbortController()
    const opts = options({
      env: restartsPerRound(),
      durationMs: 60_000,
      intervalMs: 30_000,
      signal: controller.signal
    })
    const watching = watchStage([podsCheck], opts)
    setTimeout(() => controller.abort(), 50)
    const started = Date.now()
    expect((await watching).result).toBe('cancelled')
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('is cancelled promptly during a round, aborting the requests in flight', async () => {
    let requestClosed: () => void = () => {}
    const closed = new Promise<void>(resolve => (requestClosed = resolve))
    // A Prometheus that never answers.
    stub = await startStubServer((_request, response) => response.on('close', requestClosed))
    const hanging: Check[] = [
      {
        kind: 'prometheus',
        name: 'success-rate',
        prometheus: { url: stub.url },
        query: 'x',
        min: 0.99
      } as PrometheusCheck,
      { ...podsCheck, name: 'stuck-pods' }
    ]
    const controller = new AbortController()
    const env = testEnvironment({ readCanaryPods: () => new Promise(() => {}) })
    const opts = options({ env, durationMs: 60_000, intervalMs: 50, signal: controller.signal })
    const watching = watchStage(hanging, opts)
    await new Promise<void>(resolve => {
      const poll = setInterval(() => {
        if (stub!.requests.length > 0) {
          clearInterval(poll)
          resolve()
        }
      }, 10)
    })
    const started = Date.now()
    controller.abort()
    expect((await watching).result).toBe('cancelled')
    expect(Date.now() - started).toBeLessThan(1000)
    await closed
  })

  it('with no checks, waits for the duration and passes', async () => {
    const opts = options({ durationMs: 100 })
    const started = Date.now()
    expect(await watchStage([], opts)).toEqual({ result: 'passed', evaluations: [] })
    expect(Date.now() - started).toBeGreaterThanOrEqual(95)
    expect(opts.lines).toEqual([])
  })

  it('with no checks, can be cancelled', async () => {
    const controller = new AbortController()
    const watching = watchStage([], options({ durationMs: 60_000, signal: controller.signal }))
    controller.abort()
    expect(await watching).toEqual({ result: 'cancelled', evaluations: [] })
  })
})
