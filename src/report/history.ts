/** The release's history in the report: weight over time as a chart and a table of events. Pure. */
import { codeBlock, escapeHtmlText } from './markdown.js'
import { reportDay, shortTime, table, tableCell } from './table.js'
import type { RunReport } from './types.js'

export interface WeightPoint {
  step: number
  at: string
  weight: number
  event: string
}

/**
 * Weight-over-time points of this release (the history entries of the report's revision): from the history
 * when there is one, else from the ladder's reached stages. Earlier releases stay in the report file.
 */
export function weightPoints(report: RunReport): WeightPoint[] {
  const history = report.history.filter(entry => entry.revision === report.revision)
  if (history.length > 0) {
    let weight = 0
    return history.map((entry, position) => {
      weight = entry.weight ?? weight
      return { step: position + 1, at: entry.at, weight, event: entry.event }
    })
  }
  const reached = report.ladder.filter(stage => stage.state === 'passed' || stage.state === 'current')
  const points = reached.map((stage, position) => ({
    step: position + 1,
    at: stage.at ?? '',
    weight: stage.weight,
    event: `${stage.state} ${stage.name}`
  }))
  if (report.status === 'rolled-back') {
    points.push({ step: points.length + 1, at: report.rollback?.at ?? '', weight: 0, event: 'rolled back' })
  }
  return points
}

/** A weight as the chart may print it: a whole percentage, whatever the history held. */
function chartWeight(weight: number): number {
  return Number.isFinite(weight) ? Math.min(100, Math.max(0, Math.round(weight))) : 0
}

/** The history event as a row says it; a rollback's reason is already in the outcome line. */
function eventText(event: string, report: RunReport): string {
  const reason = report.rollback?.reason
  return reason && event === `rolled back: ${reason}` ? 'rolled back (reason above)' : event
}

/** The release's history, collapsed: a weight chart and the events, with short times. */
export function renderHistory(report: RunReport, points: WeightPoint[], omitted: number): string | undefined {
  if (points.length === 0) return undefined
  const day = reportDay(report)
  const chart = codeBlock(
    [
      'xychart-beta',
      '  title "Canary weight over time"',
      `  x-axis "step" [${points.map(point => point.step).join(', ')}]`,
      '  y-axis "canary weight %" 0 --> 100',
      `  line [${points.map(point => chartWeight(point.weight)).join(', ')}]`
    ].join('\n'),
    'mermaid'
  )
  const rows = points.map(point => [
    String(point.step),
    tableCell(shortTime(point.at, day)),
    `${chartWeight(point.weight)}%`,
    tableCell(eventText(point.event, report))
  ])
  const count = points.length + omitted
  const note = omitted > 0 ? `\n\n_${omitted} older point(s) omitted to keep this report short._` : ''
  return [
    `<details><summary>History of ${escapeHtmlText(report.revision)} (${count} event${count === 1 ? '' : 's'})</summary>`,
    '',
    chart,
    '',
    table(['Step', 'When (UTC)', 'Canary weight', 'Event'], rows) + note,
    '',
    '</details>'
  ].join('\n')
}
