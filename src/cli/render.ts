/** Renders a RunReport for the terminal; pure, so colour on and off are unit-tested. */
import { formatValue as formatNumber } from '../analysis/format.js'
import type { Evaluation } from '../analysis/types.js'
import { formatDuration } from '../common/duration.js'
import { latestEvaluations } from '../report/evaluations.js'
import { heldNotice, sequentialEvidence } from '../report/evidence.js'
import type { LadderEntry, RunReport, RunStatus, StageState } from '../report/types.js'
import { CLI_NAME } from './usage.js'

export interface Style {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`

const identity = (text: string): string => text

export function makeStyle(color: boolean): Style {
  if (!color) {
    return { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity }
  }
  return {
    bold: ansi(1, 22),
    dim: ansi(2, 22),
    red: ansi(31, 39),
    green: ansi(32, 39),
    yellow: ansi(33, 39),
    cyan: ansi(36, 39)
  }
}

/** Colour only for a terminal, and never when the user opted out (https://no-color.org). */
export function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb'
}

const GOOD: readonly RunStatus[] = ['advanced', 'completed', 'healthy']
const BAD: readonly RunStatus[] = ['rolled-back']

function statusColor(status: RunStatus, style: Style): (text: string) => string {
  if (GOOD.includes(status)) return style.green
  if (BAD.includes(status)) return style.red
  return style.yellow
}

function stateColor(state: StageState, style: Style): (text: string) => string {
  switch (state) {
    case 'passed':
      return style.green
    case 'current':
      return text => style.bold(style.cyan(text))
    case 'rolled-back':
      return style.red
    case 'held':
      return style.yellow
    case 'pending':
      return style.dim
  }
}

function verdictColor(verdict: Evaluation['verdict'], style: Style): (text: string) => string {
  if (verdict === 'pass') return style.green
  if (verdict === 'fail') return style.red
  return style.yellow
}

export function formatValue(value: number | null): string {
  return value === null ? 'no data' : formatNumber(value)
}

/** Pads to a width measured without ANSI codes, so coloured cells line up. */
function pad(text: string, plain: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - plain.length))
}

function columns(rows: { plain: string; styled: string }[][], indent = '  '): string[] {
  const widths: number[] = []
  for (const row of rows)
    row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.plain.length)))
  return rows.map(
    row =>
      indent +
      row
        .map((cell, index) =>
          index === row.length - 1 ? cell.styled : pad(cell.styled, cell.plain, widths[index] + 2)
        )
        .join('')
        .trimEnd()
  )
}

const cell = (plain: string, color: (text: string) => string = identity) => ({ plain, styled: color(plain) })

function headline(report: RunReport, style: Style): string[] {
  const statusWord = statusColor(report.status, style)(style.bold(report.status))
  const dryRun = report.dryRun ? ` ${style.yellow('[dry run]')}` : ''
  const took = style.dim(` [${formatDuration(report.timings.durationMs, { wholeSeconds: true })}]`)
  const lines = [`${statusWord}: ${report.message}${dryRun}${took}`]
  lines.push(
    style.dim(
      `${report.router} ${report.namespace}/${report.service} · revision ${report.revision} · ${report.stable} -> ${report.canary}`
    )
  )
  if (report.objects.length > 1) lines.push(style.dim(`routing: ${report.objects.join(', ')}`))
  const total = report.ladder.length
  const stage = report.stage
    ? `stage ${report.stage.index}/${total} ${style.bold(report.stage.name)}`
    : 'no stage in effect'
  const weight =
    report.weight.before === report.weight.after
      ? `canary weight ${report.weight.after}%`
      : `canary weight ${report.weight.before}% -> ${report.weight.after}%`
  const next = report.done ? style.green('done') : report.nextStage ? `next: ${report.nextStage.name}` : ''
  lines.push([stage, weight, next].filter(Boolean).join(' · '))
  return lines
}

function ladder(entries: LadderEntry[], style: Style): string[] {
  if (entries.length === 0) return []
  const rows = [
    [cell('#'), cell('stage'), cell('split'), cell('state')].map(header => cell(header.plain, style.dim)),
    ...entries.map(entry => [
      cell(String(entry.index)),
      cell(entry.name, entry.state === 'current' ? style.bold : identity),
      cell(entry.split),
      cell(entry.state, stateColor(entry.state, style))
    ])
  ]
  return ['', style.bold('Ladder'), ...columns(rows)]
}

function rollbackReason(report: RunReport, style: Style): string[] {
  const rollback = report.rollback
  if (!rollback) return []
  const measured =
    rollback.check !== undefined
      ? ` (${rollback.check}: ${formatValue(rollback.value ?? null)}${rollback.threshold ? `, threshold ${rollback.threshold}` : ''})`
      : ''
  return ['', `${style.red(style.bold('Rolled back:'))} ${rollback.reason}${measured}`]
}

function evaluationLines(report: RunReport, style: Style): string[] {
  const latest = latestEvaluations(report.evaluations)
  if (latest.length === 0) return []
  const rows = latest.map(evaluation => [
    cell(evaluation.verdict, verdictColor(evaluation.verdict, style)),
    cell(evaluation.check),
    cell(formatValue(evaluation.value)),
    cell(evaluation.threshold, style.dim),
    cell(evaluation.message, style.dim)
  ])
  return ['', style.bold(`Last evaluations (${report.evaluations.length} in all)`), ...columns(rows)]
}

function sequentialLines(report: RunReport, style: Style): string[] {
  const summaries = sequentialEvidence(report)
  if (summaries.length === 0) return []
  const rows = summaries.map(summary => [
    cell(summary.check),
    cell(
      summary.estimate === '—'
        ? `${summary.measure}: no estimate yet`
        : `${summary.measure} x${summary.estimate}`
    ),
    cell(`${summary.bounds} at ${summary.level}`),
    cell(`accepted ${summary.accepted}`, style.dim),
    cell(
      `evidence ${summary.evidence}: ${summary.rejected && summary.crossing ? summary.crossing : summary.progress}`,
      summary.rejected ? style.red : identity
    )
  ])
  return [
    '',
    style.bold('Canary against stable (sequential, bounds valid at every evaluation)'),
    ...columns(rows)
  ]
}

function heldLines(report: RunReport, style: Style): string[] {
  const notice = heldNotice(report)
  if (!notice) return []
  const head = notice.held
    ? `Held: stage ${notice.stage ?? ''} stays applied; no check failed, but these had no data:`
    : 'Inconclusive: nothing was changed; no check failed, but these had no data:'
  return [
    '',
    style.yellow(style.bold(head)),
    ...notice.noData.map(({ check, message }) => `  ${check}: ${style.dim(message)}`),
    ...notice.actions.map(action => `  - ${action.replace(/`/g, '')}`)
  ]
}

function diffLine(line: string, style: Style): string {
  if (line.startsWith('+++') || line.startsWith('---')) return style.bold(line)
  if (line.startsWith('@@')) return style.cyan(line)
  if (line.startsWith('+')) return style.green(line)
  if (line.startsWith('-')) return style.red(line)
  return line
}

function changeLines(report: RunReport, style: Style): string[] {
  if (report.changes.length === 0) return []
  const lines = ['', style.bold(report.dryRun ? 'Changes (dry run, not applied)' : 'Changes')]
  for (const change of report.changes) {
    lines.push(`  ${style.bold(change.action)} ${change.object}`)
    const diff = change.diff.replace(/\n$/, '')
    if (diff) lines.push(...diff.split('\n').map(line => `    ${diffLine(line, style)}`))
  }
  return lines
}

function warningLines(report: RunReport, style: Style): string[] {
  if (report.warnings.length === 0) return []
  return [
    '',
    style.bold('Warnings'),
    ...report.warnings.map(warning => `  ${style.yellow('warning:')} ${warning}`)
  ]
}

function nextStep(report: RunReport, style: Style): string[] {
  if (report.done || !report.nextStage || report.status === 'rolled-back' || report.dryRun) return []
  if (report.status !== 'advanced' && report.status !== 'healthy' && report.status !== 'idle') return []
  return [
    '',
    style.dim(
      `Next: '${CLI_NAME} advance' applies stage ${report.nextStage.index} (${report.nextStage.name}).`
    )
  ]
}

export function renderReport(report: RunReport, style: Style): string {
  return (
    [
      ...headline(report, style),
      ...ladder(report.ladder, style),
      ...rollbackReason(report, style),
      ...heldLines(report, style),
      ...evaluationLines(report, style),
      ...sequentialLines(report, style),
      ...changeLines(report, style),
      ...warningLines(report, style),
      ...nextStep(report, style)
    ].join('\n') + '\n'
  )
}
