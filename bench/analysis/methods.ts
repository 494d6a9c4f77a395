/**
 * The four ways of judging a stage that the analysis benchmark compares, each reading the same simulated
 * stream the way its real data source would deliver it, and answering the evaluation (1-based) at which
 * it rolls the stage back, or null when the stage passes.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { watchStage } from '../../src/analysis/watch.js'
import { compareVerdict } from '../../src/analysis/mann-whitney.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { virtualServiceRouter } from '../../src/routers/virtual-service.js'
import { histogramQuantile, ISTIO_BUCKETS_MS, rateWindow, type StageStream, type Slot } from './stream.js'

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
      metricTemplate: (template, window) => virtualServiceRouter.metricTemplate(template, window, plan),
      versionCounter: (counter, version) => virtualServiceRouter.versionCounter(counter, version, plan),
      env: {}
    },
    durationMs: intervals,
    intervalMs: 1,
    failureLimit: plan.analysis.failureLimit,
    onNoData: plan.analysis.onNoData,
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
// sequential: the project's compare checks with method: sequential, as a plan writes them (templates
// success-rate and slow-requests), run by watchStage against a server answering their range queries of
// Istio's raw counters from the simulated stream.

/** The slow-requests bound: the Istio bucket just above the stable's p90 (95 ms). */
export const SLOWER_THAN_MS = 100

/** Cumulative counts of one version at each scrape (index j: the slots before scrape j). */
interface CounterTracks {
  requests: number[]
  failed: number[]
  fast: number[]
}

function counterTracks(slots: readonly Slot[], fastBuckets: number): CounterTracks {
  const tracks: CounterTracks = { requests: [0], failed: [0], fast: [0] }
  for (const slot of slots) {
    let fast = 0
    for (let b = 0; b < fastBuckets; b++) fast += slot.buckets[b]
    tracks.requests.push(tracks.requests.at(-1)! + slot.requests)
    tracks.failed.push(tracks.failed.at(-1)! + slot.failed)
    tracks.fast.push(tracks.fast.at(-1)! + fast)
  }
  return tracks
}

interface SequentialServer {
  url: string
  /** Serves `stream` as a stage that started at `startedAt`: a counter at time t is its value at the last scrape. */
  serve(stream: StageStream, startedAt: number, scrapeSeconds: number): void
  close(): Promise<void>
}

export async function startSequentialServer(): Promise<SequentialServer> {
  let served: { canary: CounterTracks; stable: CounterTracks; startedAt: number; scrapeSeconds: number }
  const fastBuckets = ISTIO_BUCKETS_MS.indexOf(SLOWER_THAN_MS) + 1
  const server: Server = createServer(async (request, response) => {
    const form = new URLSearchParams(await readBody(request))
    const query = form.get('query') ?? ''
    const tracks = query.includes('destination_version="v2"') ? served.canary : served.stable
    const track = query.includes('_bucket')
      ? tracks.fast
      : query.includes('response_code=~"5.."')
        ? tracks.failed
        : tracks.requests
    const start = Number(form.get('start'))
    const end = Number(form.get('end'))
    const step = Number(form.get('step'))
    const values: [number, string][] = []
    for (let t = start; t <= end + 1e-9; t += step) {
      const scrape = Math.floor((t * 1000 - served.startedAt) / (served.scrapeSeconds * 1000) + 1e-9)
      values.push([t, String(track[Math.max(0, Math.min(track.length - 1, scrape))])])
    }
    response.setHeader('content-type', 'application/json')
    response.end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: {}, values }] }
      })
    )
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    serve(stream, startedAt, scrapeSeconds) {
      served = {
        canary: counterTracks(stream.canary.slots, fastBuckets),
        stable: counterTracks(stream.stable.slots, fastBuckets),
        startedAt,
        scrapeSeconds
      }
    },
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

function sequentialPlan(prometheusUrl: string, intervals: number, tolerance: number) {
  const { alpha, direction, minSamples } = SEQUENTIAL_SETTINGS
  const settings = `direction: ${direction}, tolerance: ${tolerance}, alpha: ${alpha}, minSamples: ${minSamples}`
  return parsePlan(
    [
      'service: reviews',
      'stable: v1',
      'canary: v2',
      'stages: [{ weight: 5 }]',
      'analysis:',
      '  interval: 1m',
      `  bake: ${intervals}m`,
      '  checks:',
      '    - name: errors-vs-stable',
      `      compare: { method: sequential, ${settings},`,
      `        prometheus: { url: "${prometheusUrl}", template: success-rate } }`,
      '    - name: slow-vs-stable',
      `      compare: { method: sequential, ${settings},`,
      `        prometheus: { url: "${prometheusUrl}", template: slow-requests, slowerThan: ${SLOWER_THAN_MS}ms } }`
    ].join('\n')
  )
}

/** Where the simulated stages start: any fixed time. */
const STAGE_STARTED_AT = Date.UTC(2026, 0, 1)

/**
 * Runs watchStage as the action does, with a clock that moves one interval per round (the interval of the
 * watch itself shrunk to a millisecond): the plan reader, the checks, the routers' counters, the Prometheus
 * client, the sequential tests and the watch's decisive rollback are the project's own.
 */
export async function sequentialRollback(
  server: SequentialServer,
  stream: StageStream,
  intervals: number,
  scrapeSeconds: number,
  tolerance: number = SEQUENTIAL_SETTINGS.tolerance
): Promise<Rollback | null> {
  const plan = sequentialPlan(server.url, intervals, tolerance)
  const checks = plan.analysis.checks
  server.serve(stream, STAGE_STARTED_AT, scrapeSeconds)
  let evaluated = 0
  const outcome = await watchStage(checks, {
    env: {
      plan,
      revision: 'v2',
      stageStartedAt: new Date(STAGE_STARTED_AT),
      // Round r (1-based) evaluates at the end of interval r.
      now: () =>
        new Date(STAGE_STARTED_AT + (Math.floor(evaluated / checks.length) + 1) * plan.analysis.intervalMs),
      readCanaryPods: () => Promise.reject(new Error('not used')),
      metricTemplate: (template, window) => virtualServiceRouter.metricTemplate(template, window, plan),
      versionCounter: (counter, version) => virtualServiceRouter.versionCounter(counter, version, plan),
      env: {}
    },
    durationMs: intervals,
    intervalMs: 1,
    failureLimit: plan.analysis.failureLimit,
    onNoData: 'ignore',
    signal: new AbortController().signal,
    onProgress: () => evaluated++
  })
  return outcome.result === 'failed'
    ? { interval: outcome.evaluations.length / checks.length, check: outcome.failing.check }
    : null
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
