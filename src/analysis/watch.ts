import type { Check } from '../plan/types.js'
import { evaluateCheck } from './checks/index.js'
import { formatDuration, formatValue } from './format.js'
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

function progressLine(
  evaluation: Evaluation,
  countsAsFailure: boolean,
  failures: number,
  limit: number
): string {
  const counter = `FAIL (${failures}/${limit})`
  if (evaluation.verdict === 'nodata')
    return `${evaluation.check} no data${countsAsFailure ? ` ${counter}` : ''}`
  const value = evaluation.value === null ? '' : `${formatValue(evaluation.value)} `
  const head = `${evaluation.check} ${value}${evaluation.threshold}`
  return evaluation.verdict === 'pass' ? `${head} ok` : `${head} ${counter}: ${evaluation.message}`
}

/**
 * Watches a stage: evaluates every check (in parallel) once per interval until `durationMs` has elapsed,
 * and stops at the round where a check reaches `failureLimit` consecutive failures.
 */
export async function watchStage(checks: Check[], opts: WatchOptions): Promise<WatchOutcome> {
  const { durationMs, intervalMs, failureLimit, signal, log } = opts
  const evaluations: Evaluation[] = []
  const startedAt = Date.now()
  if (checks.length === 0) {
    const completed = await sleepUntil(startedAt + durationMs, signal)
    return { result: completed ? 'passed' : 'cancelled', evaluations }
  }

  // Checks see the watch's signal too, so cancelling also aborts their requests.
  const env = { ...opts.env, signal: opts.env.signal ? AbortSignal.any([opts.env.signal, signal]) : signal }
  let removeAbortListener = () => {}
  const aborted = new Promise<undefined>(resolve => {
    const onAbort = () => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
    removeAbortListener = () => signal.removeEventListener('abort', onAbort)
  })
  const consecutiveFailures = checks.map(() => 0)
  const total = formatDuration(durationMs)
  const step = Math.max(1, intervalMs)

  try {
    let offset = durationMs < step ? 0 : step
    for (;;) {
      if (!(await sleepUntil(startedAt + offset, signal))) return { result: 'cancelled', evaluations }
      // A check that ignores its signal must not hold up cancellation.
      const round = await Promise.race([Promise.all(checks.map(check => evaluateCheck(check, env))), aborted])
      if (!round || signal.aborted) return { result: 'cancelled', evaluations }
      evaluations.push(...round)

      let failing: Evaluation | undefined
      round.forEach((evaluation, index) => {
        const failed =
          evaluation.verdict === 'fail' || (evaluation.verdict === 'nodata' && opts.onNoData === 'fail')
        consecutiveFailures[index] = failed ? consecutiveFailures[index] + 1 : 0
        const line = progressLine(evaluation, failed, consecutiveFailures[index], failureLimit)
        log(`[${formatDuration(offset)}/${total}] ${line}`)
        if (failed && consecutiveFailures[index] >= failureLimit) failing ??= evaluation
      })
      if (failing) return { result: 'failed', evaluations, failing }
      if (offset >= durationMs) return { result: 'passed', evaluations }

      offset = Math.min(durationMs, offset + step)
    }
  } finally {
    removeAbortListener()
  }
}
