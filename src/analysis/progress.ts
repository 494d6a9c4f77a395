import { formatDuration } from '../common/duration.js'
import { formatValue } from './format.js'
import type { ProgressEvent } from './types.js'

/** One evaluation as a log line, e.g. "[1m30s/5m] success-rate 0.997 >= 0.99 ok". */
export function formatProgress(event: ProgressEvent): string {
  const { evaluation } = event
  const position = `[${formatDuration(event.offsetMs)}/${formatDuration(event.durationMs)}]`
  const counter = evaluation.decisive
    ? 'FAIL (decisive)'
    : `FAIL (${event.consecutiveFailures}/${event.failureLimit})`
  if (evaluation.verdict === 'nodata') {
    return `${position} ${evaluation.check} no data${event.countsAsFailure ? ` ${counter}` : ''}`
  }
  const value = evaluation.value === null ? '' : `${formatValue(evaluation.value)} `
  const head = `${position} ${evaluation.check} ${value}${evaluation.threshold}`
  return evaluation.verdict === 'pass' ? `${head} ok` : `${head} ${counter}: ${evaluation.message}`
}
