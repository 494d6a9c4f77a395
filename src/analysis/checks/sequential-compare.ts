/**
 * `compare` with `method: sequential`: at every evaluation, the data of every interval since the stage
 * started (the grid of version-series.ts) goes to the sequential tests of `../sequential/`. A rejection is
 * decisive: it rolls back at once, because the test's false-rollback rate already covers every evaluation.
 */
import { formatDuration } from '../../common/duration.js'
import { formatValue } from '../format.js'
import { rangeQuery } from '../prometheus-client.js'
import {
  sequentialErrorRateTest,
  sequentialLatencyTest,
  type CountsSnapshot,
  type EventWords,
  type SequentialResult
} from '../sequential/index.js'
import { renderQuery } from '../templates.js'
import type { CheckEnvironment, SequentialEvidence } from '../types.js'
import {
  counterIncrements,
  cumulative,
  gridRange,
  intervalSamples,
  stageGrid,
  type StageGrid
} from '../version-series.js'
import type { CheckOutcome } from './check-kind.js'
import type { SequentialCompare } from './compare.js'
import type { VersionCounter } from '../../plan/types.js'

/** What the ratio of a sequential check is of, for thresholds and reports. */
function measureName(check: SequentialCompare): string {
  if (check.template === 'success-rate') return 'failure-rate ratio'
  if (check.template === 'slow-requests') return `slow (>${formatDuration(check.slowerThanMs ?? 0)}) ratio`
  return check.quantile === 0.5 ? 'median ratio' : `quantile ${formatValue(check.quantile ?? 0.5)} ratio`
}

/** e.g. "failure-rate ratio <= 1.25 (alpha 0.05)": the canary / stable ratios the check accepts. */
export function sequentialThreshold(check: SequentialCompare): string {
  const high = formatValue(1 + check.tolerance)
  const low = formatValue(1 - check.tolerance)
  const accepted =
    check.direction === 'increase'
      ? `<= ${high}`
      : check.direction === 'decrease'
        ? `>= ${low}`
        : `in [${low}, ${high}]`
  return `${measureName(check)} ${accepted} (alpha ${formatValue(check.alpha)})`
}

function query(
  check: SequentialCompare,
  env: CheckEnvironment,
  text: string,
  version: string,
  grid: StageGrid,
  first: number
) {
  const { service, namespace, stable, canary, analysis } = env.plan
  const promql = renderQuery(text, {
    service,
    namespace,
    stable,
    canary,
    version,
    window: formatDuration(grid.stepMs),
    intervalMs: analysis.intervalMs
  })
  return rangeQuery(check.prometheus, promql, { ...gridRange(grid, first), signal: env.signal, env: env.env })
}

/** A version's requests and bad ones (failed, or slow) per interval, from its raw counters. */
async function versionCounts(
  check: SequentialCompare,
  env: CheckEnvironment,
  version: string,
  grid: StageGrid
): Promise<{ bad: number[]; total: number[] }> {
  const increments = async (counter: VersionCounter) =>
    counterIncrements(await query(check, env, env.versionCounter(counter, version), version, grid, 0), grid)
  if (check.template === 'success-rate') {
    const [bad, total] = await Promise.all([
      increments({ counter: 'failed-requests' }),
      increments({ counter: 'requests' })
    ])
    return { bad, total }
  }
  // Both from the latency histogram, so they count the same requests: slow = all - within the bound.
  const [fast, total] = await Promise.all([
    increments({ counter: 'latency-bucket', upperBoundMs: check.slowerThanMs ?? 0 }),
    increments({ counter: 'latency-count' })
  ])
  return { bad: total.map((all, k) => Math.max(0, all - fast[k])), total }
}

async function countsTest(
  check: SequentialCompare,
  env: CheckEnvironment,
  grid: StageGrid
): Promise<{ result: SequentialResult; canaryEvents: number; stableEvents: number }> {
  const [canary, stable] = await Promise.all([
    versionCounts(check, env, env.plan.canary, grid),
    versionCounts(check, env, env.plan.stable, grid)
  ])
  const running = {
    canaryBad: cumulative(canary.bad),
    canaryTotal: cumulative(canary.total),
    stableBad: cumulative(stable.bad),
    stableTotal: cumulative(stable.total)
  }
  const snapshots: CountsSnapshot[] = running.canaryTotal.map((_, k) => ({
    canary: { failed: running.canaryBad[k], total: running.canaryTotal[k] },
    stable: { failed: running.stableBad[k], total: running.stableTotal[k] }
  }))
  const words: EventWords | undefined =
    check.template === 'slow-requests'
      ? {
          events: `slower than ${formatDuration(check.slowerThanMs ?? 0)}`,
          rate: 'share of slow requests',
          none: 'no slow requests yet'
        }
      : undefined
  const result = sequentialErrorRateTest(snapshots, options(check), words)
  const last = snapshots.at(-1)
  return {
    result,
    canaryEvents: Math.round(last?.canary.failed ?? 0),
    stableEvents: Math.round(last?.stable.failed ?? 0)
  }
}

async function samplesTest(
  check: SequentialCompare,
  env: CheckEnvironment,
  grid: StageGrid
): Promise<SequentialResult> {
  const [canary, stable] = await Promise.all(
    [env.plan.canary, env.plan.stable].map(async version =>
      intervalSamples(await query(check, env, check.query ?? '', version, grid, 1), grid)
    )
  )
  const intervals = canary.map((samples, k) => ({ canary: samples, stable: stable[k] }))
  return sequentialLatencyTest(intervals, { ...options(check), quantile: check.quantile })
}

function options(check: SequentialCompare) {
  const { alpha, direction, tolerance, minSamples } = check
  return { alpha, direction, tolerance, minSamples }
}

export async function evaluateSequential(
  check: SequentialCompare,
  env: CheckEnvironment
): Promise<CheckOutcome> {
  const grid = stageGrid(env.stageStartedAt, env.now(), env.plan.analysis.intervalMs)
  if (grid.intervals === 0) {
    return {
      value: null,
      verdict: 'nodata',
      message: `no complete interval (${formatDuration(grid.stepMs)}) since the stage started`
    }
  }
  let result: SequentialResult
  let events: Pick<SequentialEvidence, 'canaryEvents' | 'stableEvents'> = {}
  if (check.template) {
    const counts = await countsTest(check, env, grid)
    result = counts.result
    events = { canaryEvents: counts.canaryEvents, stableEvents: counts.stableEvents }
  } else {
    result = await samplesTest(check, env, grid)
  }
  const evidence: SequentialEvidence = {
    measure:
      check.template === 'success-rate'
        ? 'failure-rate'
        : check.template === 'slow-requests'
          ? 'slow-share'
          : 'quantile',
    ...(check.slowerThanMs !== undefined && { slowerThanMs: check.slowerThanMs }),
    ...(check.quantile !== undefined && { quantile: check.quantile }),
    estimate: result.estimate,
    lower: result.lower,
    upper: result.upper,
    acceptedMin: result.acceptedMin,
    acceptedMax: result.acceptedMax,
    logEValue: result.logEValue,
    logThreshold: result.logThreshold,
    alpha: check.alpha,
    canarySamples: result.canarySamples,
    stableSamples: result.stableSamples,
    ...events,
    intervals: grid.intervals
  }
  const verdict = result.verdict === 'reject' ? 'fail' : result.verdict === 'continue' ? 'pass' : 'nodata'
  return {
    value: verdict === 'nodata' ? null : result.estimate,
    verdict,
    message: result.message,
    evidence,
    ...(verdict === 'fail' && { decisive: true })
  }
}
