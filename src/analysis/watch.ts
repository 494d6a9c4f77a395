import type { CheckBase, NoDataPolicy } from '../plan/types.js'
import { evaluateCheck } from './checks/index.js'
import type { Evaluation, WatchOptions, WatchOutcome } from './types.js'

/** Waits until the epoch time `deadline`; resolves false at once when `signal` aborts first. */
function sleepUntil(deadline: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise(resolve => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve(true)
      },
      Math.max(0, deadline - Date.now())
    )
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** What no data counts as for this check: its own onNoData, else the analysis-wide one. */
export function noDataPolicy(check: CheckBase, analysisWide: NoDataPolicy): NoDataPolicy {
  return check.onNoData ?? analysisWide
}

function countsAsFailure(evaluation: Evaluation, policy: NoDataPolicy): boolean {
  return evaluation.verdict === 'fail' || (evaluation.verdict === 'nodata' && policy === 'fail')
}

/**
 * Watches a stage: evaluates every check (in parallel) once per interval until `durationMs` has elapsed,
 * and stops at the round where a check reaches `failureLimit` consecutive failures, or fails decisively. At the end, checks whose
 * last evaluation had no data under `onNoData: inconclusive` make the outcome inconclusive.
 */
export async function watchStage(checks: CheckBase[], opts: WatchOptions): Promise<WatchOutcome> {
  const { durationMs, intervalMs, failureLimit, signal } = opts
  const evaluations: Evaluation[] = []
  const startedAt = Date.now()
  const step = Math.max(1, intervalMs)
  const policies = checks.map(check => noDataPolicy(check, opts.onNoData))

  // Checks see the watch's signal too, so cancelling also aborts their requests.
  const env = { ...opts.env, signal: opts.env.signal ? AbortSignal.any([opts.env.signal, signal]) : signal }
  let removeAbortListener = () => {}
  const aborted = new Promise<undefined>(resolve => {
    const onAbort = () => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
    removeAbortListener = () => signal.removeEventListener('abort', onAbort)
  })
  const consecutiveFailures = checks.map(() => 0)
  let last: Evaluation[] | undefined

  try {
    let offset = checks.length === 0 || durationMs < step ? Math.min(durationMs, step) : step
    for (;;) {
      if (!(await sleepUntil(startedAt + offset, signal))) return { result: 'cancelled', evaluations }
      if (opts.stillCurrent && !(await opts.stillCurrent())) return { result: 'superseded', evaluations }
      // A check that ignores its signal must not hold up cancellation.
      const round = await Promise.race([Promise.all(checks.map(check => evaluateCheck(check, env))), aborted])
      if (!round || signal.aborted) return { result: 'cancelled', evaluations }
      evaluations.push(...round)
      last = round

      let failing: Evaluation | undefined
      round.forEach((evaluation, index) => {
        const failed = countsAsFailure(evaluation, policies[index])
        consecutiveFailures[index] = failed ? consecutiveFailures[index] + 1 : 0
        opts.onProgress({
          evaluation,
          offsetMs: offset,
          durationMs,
          countsAsFailure: failed,
          consecutiveFailures: consecutiveFailures[index],
          failureLimit
        })
        // A decisive failure (a sequential test's rejection) does not wait for failureLimit.
        if (failed && (evaluation.decisive || consecutiveFailures[index] >= failureLimit))
          failing ??= evaluation
      })
      if (failing) return { result: 'failed', evaluations, failing }
      if (offset >= durationMs) break
      offset = Math.min(durationMs, offset + step)
    }
  } finally {
    removeAbortListener()
  }
  const noData = (last ?? []).filter(
    (evaluation, index) => evaluation.verdict === 'nodata' && policies[index] === 'inconclusive'
  )
  return noData.length > 0
    ? { result: 'inconclusive', evaluations, noData }
    : { result: 'passed', evaluations }
}
