/**
 * The four ways of judging a stage that the analysis benchmark compares, each reading the same simulated
 * stream the way its real data source would deliver it, and answering the evaluation (1-based) at which
 * it rolls the stage back, or null when the stage passes.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { watchStage } from '../../src/analysis/watch.js'
import { compareVerdict } from '../../src/analysis/mann-whitney.js'
import {
  sequentialErrorRateTest,
  sequentialLatencyTest,
  type CountsSnapshot,
  type LatencyInterval
} from '../../src/analysis/sequential/index.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { virtualServiceRouter } from '../../src/routers/virtual-service.js'
import { histogramQuantile, rateWindow, sumSlots, type StageStream, type Slot } from './stream.js'

/** Scrapes inside a `[1m]` rate window. */
const SCRAPES_PER_RATE_WINDOW = 4

/** compare's defaults; the bench gives the sequential tests the same tolerance. */
export const COMPARE_SETTINGS = { direction: 'increase', tolerance: 0.25, confidence: 0.98 } as const
export const SEQUENTIAL_SETTINGS = {
  alpha: 0.05,
  direction: 'increase',
  tolerance: 0.25,
  minSamples: 50
} as const
export const FLAGGER_SETTINGS = { minSuccessPercent: 99, maxP99Ms: 500, threshold: 5 } as const

/** When a method rolled the stage back, and which of its checks did. */
export interface Rollback {
  interval: number
  check: string
}

function successRatio(window: Slot): number {
  return window.requests > 0 ? (window.requests - window.failed) / window.requests : NaN
}

/** The scrape at the end of evaluation `interval` (1-based). */
const scrapeAt = (stream: StageStream, interval: number) => interval * stream.slotsPerInterval

// ---------------------------------------------------------------------------------------------------
// threshold: the project's own prometheus check (template success-rate, min 0.99) and watch loop
// (failureLimit 1), against a local server answering as Prometheus would for the simulated stream.

interface ThresholdServer {
  url: string
  /** Serves `stream` to the next watch; the n-th query of that watch is evaluation n. */
  serve(stream: StageStream): void
  close(): Promise<void>
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startThresholdServer(): Promise<ThresholdServer> {
  let stream: StageStream | undefined
  let queries = 0
  const server: Server = createServer(async (request, response) => {
    const form = new URLSearchParams(await readBody(request))
    const query = form.get('query') ?? ''
    queries++
    const window =
      stream && rateWindow(stream.canary.slots, scrapeAt(stream, queries), SCRAPES_PER_RATE_WINDOW)
    // The success-rate template divides two sums of rates; no canary request in the window is no data.
    const ok = query.includes('istio_requests_total') && window !== undefined && window.requests > 0
    const result = ok ? [{ metric: {}, value: [Date.now() / 1000, String(successRatio(window))] }] : []
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    serve(next) {
      stream = next
      queries = 0
    },
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

function thresholdPlan(prometheusUrl: string, intervals: number) {
  return parsePlan(
    [
      'service: reviews',
      'stable: v1',
      'canary: v2',
      'stages: [{ weight: 5 }]',
      'analysis:',
      '  interval: 1m',
      `  bake: ${intervals}m`,
      '  failureLimit: 1',
      '  onNoData: fail',
      '  checks:',
      '    - name: success-rate',
      `      prometheus: { url: "${prometheusUrl}", template: success-rate, min: 0.99 }`
    ].join('\n')
  )
}

/**
 * Runs watchStage as the action does, with the interval shrunk to a millisecond so a stage takes
 * milliseconds: the checks, the templates, the Prometheus client and the failure counting are the
 * project's own.
 */
export async function thresholdRollback(
  server: ThresholdServer,
  stream: StageStream,
  intervals: number
): Promise<Rollback | null> {
  const plan = thresholdPlan(server.url, intervals)
  server.serve(stream)
  const outcome = await watchStage(plan.analysis.checks, {
    env: {
      plan,
      revision: 'v2',
      stageStartedAt: new Date(),
      now: () => new Date(),
      readCanaryPods: () => Promise.reject(new Error('not used')),
      metricTemplate: (template, window) => virtualServiceRouter.metricTemplate(template, window),
      versionCounter: counter => virtualServiceRouter.versionCounter(counter),
      env: {}
    },
    durationMs: intervals,
    intervalMs: 1,
    failureLimit: plan.analysis.failureLimit,
    onNoData: plan.analysis.onNoData === 'fail' ? 'fail' : 'ignore',
    signal: new AbortController().signal,
    onProgress: () => {}
  })
  return outcome.result === 'failed'
    ? { interval: outcome.evaluations.length, check: outcome.failing.check }
    : null
}

// ---------------------------------------------------------------------------------------------------
// mwu: today's compare, every interval, on what its range query returns.

/**
 * The points of a compare range query from the stage's start to the end of evaluation `interval`: one
 * every max(1 s, window / 250) as the check asks, each the query at that instant, which a [1m] rate makes
 * the value of the last scrape's window. Points before the second scrape have no value.
 */
function rangeQueryPoints(
  stream: StageStream,
  slots: readonly Slot[],
  interval: number,
  value: (window: Slot) => number,
  scrapeSeconds: number
): number[] {
  const windowSeconds = interval * stream.slotsPerInterval * scrapeSeconds
  const step = Math.max(1, windowSeconds / 250)
  const byScrape = new Map<number, number>()
  const points: number[] = []
  for (let t = 0; t <= windowSeconds + 1e-9; t += step) {
    const scrape = Math.floor(t / scrapeSeconds + 1e-9)
    if (!byScrape.has(scrape)) {
      const window = rateWindow(slots, scrape, SCRAPES_PER_RATE_WINDOW)
      byScrape.set(scrape, window ? value(window) : NaN)
    }
    const point = byScrape.get(scrape) as number
    if (Number.isFinite(point)) points.push(point)
  }
  return points
}

const failureRatio = (window: Slot) => (window.requests > 0 ? window.failed / window.requests : NaN)
const p90 = (window: Slot) => histogramQuantile(0.9, window.buckets)

/**
 * Two compare checks, as a user of today's compare writes them: the p90 latency
 * (histogram_quantile(0.9, sum by (le) (rate(..._bucket[1m])))) and the 5xx ratio
 * ((sum(rate(5xx[1m])) or on() vector(0)) / sum(rate(all[1m]))), each per version; failureLimit 1.
 */
export function mwuRollback(
  stream: StageStream,
  intervals: number,
  scrapeSeconds: number,
  tolerance: number = COMPARE_SETTINGS.tolerance
): Rollback | null {
  const checks = { 'latency-p90': p90, 'error-ratio': failureRatio }
  for (let interval = 1; interval <= intervals; interval++) {
    for (const [check, value] of Object.entries(checks)) {
      const canary = rangeQueryPoints(stream, stream.canary.slots, interval, value, scrapeSeconds)
      const stable = rangeQueryPoints(stream, stream.stable.slots, interval, value, scrapeSeconds)
      const verdict = compareVerdict({ canary, stable, ...COMPARE_SETTINGS, tolerance }).verdict
      if (verdict === 'fail') return { interval, check }
    }
  }
  return null
}

// ---------------------------------------------------------------------------------------------------
// sequential: the error-rate test on cumulative request counts, the latency test on each interval's
// request latencies; the stage rolls back when either rejects.

export function sequentialRollback(
  stream: StageStream,
  intervals: number,
  tolerance: number = SEQUENTIAL_SETTINGS.tolerance
): Rollback | null {
  const snapshots: CountsSnapshot[] = []
  const latency: LatencyInterval[] = []
  const options = { ...SEQUENTIAL_SETTINGS, tolerance, verdictOnly: true }
  for (let interval = 1; interval <= intervals; interval++) {
    const through = scrapeAt(stream, interval) - 1
    const canary = sumSlots(stream.canary.slots, 0, through)
    const stable = sumSlots(stream.stable.slots, 0, through)
    snapshots.push({
      canary: { failed: canary.failed, total: canary.requests },
      stable: { failed: stable.failed, total: stable.requests }
    })
    latency.push({
      canary: stream.canary.latencies[interval - 1],
      stable: stream.stable.latencies[interval - 1]
    })
    if (sequentialErrorRateTest(snapshots, options).verdict === 'reject')
      return { interval, check: 'error-rate' }
    if (sequentialLatencyTest(latency, options).verdict === 'reject') return { interval, check: 'latency' }
  }
  return null
}

// ---------------------------------------------------------------------------------------------------
// flagger: the Istio tutorial's analysis, as Flagger evaluates it.

/**
 * Flagger's built-in Istio metrics over a 1m window: request-success-rate (percent of non-5xx, min 99) and
 * request-duration (histogram_quantile(0.99), max 500 ms). Each interval with a failing metric adds one to
 * the failed checks, which Flagger never resets during an analysis; the canary is rolled back once they
 * reach the threshold (5). Flagger acts on it at its next tick; the interval reported here is the one
 * whose check reached 5, which favours Flagger by one interval.
 */
export function flaggerRollback(stream: StageStream, intervals: number): Rollback | null {
  let failedChecks = 0
  const failures = { 'request-success-rate': 0, 'request-duration': 0 }
  for (let interval = 1; interval <= intervals; interval++) {
    const window = rateWindow(stream.canary.slots, scrapeAt(stream, interval), SCRAPES_PER_RATE_WINDOW)
    const successPercent = window ? 100 * successRatio(window) : NaN
    const p99 = window ? histogramQuantile(0.99, window.buckets) : NaN
    // No value (no traffic) fails the check in Flagger too.
    const successOk = successPercent >= FLAGGER_SETTINGS.minSuccessPercent
    const durationOk = p99 <= FLAGGER_SETTINGS.maxP99Ms
    if (!successOk) failures['request-success-rate']++
    if (!durationOk) failures['request-duration']++
    if (!(successOk && durationOk)) failedChecks++
    if (failedChecks >= FLAGGER_SETTINGS.threshold) {
      const check =
        failures['request-duration'] > failures['request-success-rate']
          ? 'request-duration'
          : 'request-success-rate'
      return { interval, check }
    }
  }
  return null
}
