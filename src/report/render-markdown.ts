/**
 * Markdown for the sticky PR comment and the job summary. Pure: a RunReport in, a string out.
 */
import type { Evaluation } from '../analysis/types.js'
import { latestEvaluations } from './evaluations.js'
import { heldNotice, sequentialEvidence } from './evidence.js'
import type { LadderEntry, RunReport, RunStatus, StageState } from './types.js'

/** GitHub rejects comment bodies over 65,536 characters; stay clear of it. */
const DEFAULT_MAX_CHARS = 65000
/** Longest text kept in one table cell, so a runaway check message cannot crowd out the ladder. */
const MAX_CELL_CHARS = 300
/** Below this many characters a truncated diff is not worth showing. */
const MIN_DIFF_CHARS = 200

export interface RenderOptions {
  marker: string
  maxChars?: number
}

/** The hidden line that identifies the sticky comment of one service. */
export function reportMarker(namespace: string, service: string): string {
  return `<!-- istio-canary-action:${namespace}/${service} -->`
}

const STATUS_EMOJI: Record<RunStatus, string> = {
  advanced: '⏩',
  completed: '✅',
  'rolled-back': '⏪',
  healthy: '💚',
  inconclusive: '❔',
  unchanged: '⏸️',
  planned: '📝',
  idle: '💤',
  'in-progress': '⏳'
}

const STATE_LABEL: Record<StageState, string> = {
  passed: '✅ passed',
  current: '▶️ current',
  held: '❔ held (no data)',
  pending: '⏳ pending',
  'rolled-back': '⏪ rolled back'
}

const VERDICT_LABEL: Record<Evaluation['verdict'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  nodata: '⚠️ no data'
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const NOTICE_START = '<!-- canary-notice -->'
const NOTICE_END = '<!-- /canary-notice -->'

/**
 * The sticky comment body with a warning notice right after the marker, replacing any earlier notice and keeping
 * the rest of the report. The next full report rewrites the body, which clears the notice.
 */
export function withNotice(existingBody: string | undefined, marker: string, notice: string): string {
  const section = `${NOTICE_START}\n> [!WARNING]\n> ${escapeHtml(notice.replace(/\r?\n/g, ' '))}\n${NOTICE_END}`
  const rest = (existingBody ?? '')
    .replace(marker, '')
    .replace(new RegExp(`${NOTICE_START}[\\s\\S]*?${NOTICE_END}\\n*`), '')
    .replace(/^\n+/, '')
  return `${marker}\n${section}\n\n${rest}`.trimEnd() + '\n'
}

/** Text for one Markdown table cell: HTML-escaped, pipes escaped, on one line, bounded. */
export function tableCell(text: string): string {
  const oneLine = text.replace(/\r?\n/g, ' ').trim()
  const bounded = oneLine.length > MAX_CELL_CHARS ? `${oneLine.slice(0, MAX_CELL_CHARS - 1)}…` : oneLine
  return escapeHtml(bounded).replace(/\|/g, '\\|')
}

function longestBacktickRun(text: string): number {
  return (text.match(/`+/g) ?? []).reduce((longest, run) => Math.max(longest, run.length), 0)
}

/** Inline code that survives backticks in the text. Code spans show HTML literally, so no escaping. */
function inlineCode(text: string): string {
  const clean = text.replace(/\r?\n/g, ' ')
  const fence = '`'.repeat(longestBacktickRun(clean) + 1)
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${clean}${pad}${fence}`
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

function currentLadderEntry(report: RunReport): LadderEntry | undefined {
  if (!report.stage) return undefined
  return report.ladder.find(entry => entry.index === report.stage?.index)
}

function weightSplit(report: RunReport): string {
  const canaryWeight = report.weight.after
  return `${100 - canaryWeight}% ${report.stable} / ${canaryWeight}% ${report.canary}`
}

function renderHeadline(report: RunReport): string {
  const emoji = STATUS_EMOJI[report.status] ?? 'ℹ️'
  const stage = report.stage
    ? `stage ${report.stage.index}/${report.ladder.length} ${report.stage.name}`
    : 'no stage'
  const split = currentLadderEntry(report)?.split ?? weightSplit(report)
  const lines = [
    `### ${emoji} Canary ${inlineCode(`${report.namespace}/${report.service}`)}: **${report.status}**`,
    '',
    `**Revision** ${inlineCode(report.revision)} · **${escapeHtml(stage)}** · **Split** ${escapeHtml(split)}`,
    '',
    `> ${escapeHtml(report.message.replace(/\r?\n/g, ' '))}`
  ]
  if (report.dryRun) lines.push('', '_Dry run: nothing was changed in the cluster._')
  return lines.join('\n')
}

function renderRollback(report: RunReport): string | undefined {
  const rollback = report.rollback
  if (!rollback) return undefined
  const measured =
    rollback.check !== undefined
      ? ` (check ${inlineCode(rollback.check)}: ${rollback.value ?? 'no data'}${rollback.threshold ? `, threshold ${escapeHtml(rollback.threshold)}` : ''})`
      : ''
  return `**⏪ Rolled back** at ${escapeHtml(rollback.at)}: ${escapeHtml(rollback.reason.replace(/\r?\n/g, ' '))}${measured}`
}

function renderLadder(report: RunReport): string {
  const rows = report.ladder.map(entry => [
    String(entry.index),
    tableCell(entry.name),
    tableCell(entry.split),
    STATE_LABEL[entry.state] ?? tableCell(entry.state),
    tableCell(entry.at ?? ''),
    tableCell(entry.runId ?? '')
  ])
  return ['#### Stages', '', table(['#', 'Stage', 'Traffic split', 'State', 'When', 'Run'], rows)].join('\n')
}

function renderChecks(report: RunReport): string {
  const evaluations = latestEvaluations(report.evaluations)
  if (evaluations.length === 0) return '#### Checks\n\n_No check was evaluated in this run._'
  const rows = evaluations.map(evaluation => [
    tableCell(evaluation.check),
    tableCell(evaluation.kind),
    evaluation.value === null ? '—' : tableCell(String(evaluation.value)),
    tableCell(evaluation.threshold),
    VERDICT_LABEL[evaluation.verdict] ?? tableCell(evaluation.verdict),
    tableCell(evaluation.message),
    tableCell(evaluation.at)
  ])
  return [
    '#### Checks (last evaluation)',
    '',
    table(['Check', 'Kind', 'Value', 'Threshold', 'Verdict', 'Details', 'At'], rows)
  ].join('\n')
}

/** The evidence of the sequential checks: estimate, anytime-valid bounds, and how close to a rollback. */
function renderSequentialEvidence(report: RunReport): string | undefined {
  const summaries = sequentialEvidence(report)
  if (summaries.length === 0) return undefined
  const rows = summaries.map(summary => [
    // A pipe would end the cell even inside a code span.
    inlineCode(summary.check).replace(/\|/g, '\\|'),
    escapeHtml(
      summary.estimate === '—'
        ? `${summary.measure}: no estimate yet`
        : `${summary.measure} × ${summary.estimate}`
    ),
    escapeHtml(`${summary.bounds} at ${summary.level}`),
    escapeHtml(summary.accepted),
    escapeHtml(`${summary.evidence}: ${summary.progress}`) +
      (summary.rejected && summary.crossing ? ` (**${escapeHtml(summary.crossing)}**)` : ''),
    escapeHtml(summary.data)
  ])
  return [
    '#### Canary against stable (sequential)',
    '',
    table(
      [
        'Check',
        'Canary / stable',
        'Bounds, valid at every evaluation',
        'Accepted',
        'Evidence (log e-value)',
        'Data'
      ],
      rows
    )
  ].join('\n')
}

/** A held stage: the checks that had no data, and the three ways on. */
function renderHeldNotice(report: RunReport): string | undefined {
  const notice = heldNotice(report)
  if (!notice) return undefined
  const stage = notice.stage ? ` ${inlineCode(notice.stage)}` : ''
  const head = notice.held
    ? `**❔ Held:** stage${stage} stays applied. No check failed, but these had no data at the end of the watch:`
    : `**❔ Inconclusive:** nothing was changed. No check failed, but these had no data:`
  return [
    head,
    '',
    ...notice.noData.map(({ check, message }) => `- ${inlineCode(check)}: ${tableCell(message)}`),
    '',
    'To go on:',
    '',
    // The actions are the action's own words, with code spans meant as such.
    ...notice.actions.map(action => `- ${escapeHtml(action)}`)
  ].join('\n')
}

function renderApproval(report: RunReport): string | undefined {
  const approval = report.approval
  if (!approval) return undefined
  const next = `the next stage, **${escapeHtml(approval.nextStage)}**`
  const ways: string[] = []
  if (approval.environment) {
    ways.push(
      `approve the pending deployment to environment ${inlineCode(approval.environment)} in the workflow run`
    )
  }
  if (approval.comment)
    ways.push(`comment ${inlineCode(approval.comment)} on this pull request (write permission)`)
  if (ways.length === 0) return `#### Next\n\nThe next run applies ${next}.`
  return `#### Next\n\nTo apply ${next}: ${ways.join(', or ')}.`
}

function renderWarnings(report: RunReport): string | undefined {
  if (report.warnings.length === 0) return undefined
  const items = report.warnings.map(warning => `- ${tableCell(warning)}`)
  return [
    '<details><summary>⚠️ Warnings (' + report.warnings.length + ')</summary>',
    '',
    ...items,
    '',
    '</details>'
  ].join('\n')
}

export interface WeightPoint {
  step: number
  at: string
  weight: number
  event: string
}

/** Weight-over-time points: from the history when there is one, else from the ladder's reached stages. */
export function weightPoints(report: RunReport): WeightPoint[] {
  if (report.history.length > 0) {
    let weight = 0
    return report.history.map((entry, position) => {
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

function renderWeightChart(points: WeightPoint[], omitted: number): string | undefined {
  if (points.length === 0) return undefined
  const chart = [
    '```mermaid',
    'xychart-beta',
    '  title "Canary weight over time"',
    `  x-axis "step" [${points.map(point => point.step).join(', ')}]`,
    '  y-axis "canary weight %" 0 --> 100',
    `  line [${points.map(point => point.weight).join(', ')}]`,
    '```'
  ].join('\n')
  const rows = points.map(point => [
    String(point.step),
    tableCell(point.at),
    `${point.weight}%`,
    tableCell(point.event)
  ])
  const note = omitted > 0 ? `\n\n_${omitted} older point(s) omitted to keep this report short._` : ''
  return (
    [
      '#### Canary weight over time',
      '',
      chart,
      '',
      table(['Step', 'When', 'Canary weight', 'Event'], rows)
    ].join('\n') + note
  )
}

/** The routing change of this run; `budget` bounds the diff text (undefined: unbounded, 0: omitted). */
function renderChanges(report: RunReport, budget: number | undefined): string | undefined {
  if (report.changes.length === 0) return undefined
  const objects = report.changes.map(change => `${change.action} ${change.object}`).join(', ')
  const summary = `<summary>Routing change in this run: ${escapeHtml(objects)}</summary>`
  if (budget === 0) {
    return `<details>${summary}\n\n_The diff is too large for this report; the run's report file has it._\n\n</details>`
  }
  let diff = report.changes
    .map(change => `# ${change.action} ${change.object}\n${change.diff.trimEnd()}`)
    .join('\n\n')
  if (budget !== undefined && diff.length > budget) {
    const omitted = diff.length - budget
    diff = `${diff.slice(0, budget)}\n… ${omitted} more characters omitted (see the run's report file)`
  }
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(diff) + 1))
  return `<details>${summary}\n\n${fence}diff\n${diff}\n${fence}\n\n</details>`
}

function renderFooter(report: RunReport): string {
  const run = report.run.url
    ? `[workflow run${report.run.id ? ` ${escapeHtml(report.run.id)}` : ''}](${encodeURI(report.run.url)})`
    : 'local run'
  return `<sub>${escapeHtml(report.command)} · ${run} · finished ${escapeHtml(report.timings.finishedAt)} · istio-canary-action</sub>`
}

interface Trim {
  /** Characters of diff text to keep (undefined: all, 0: none). */
  diffBudget?: number
  /** How many of the newest weight points to keep (undefined: all). */
  keepPoints?: number
}

function assemble(report: RunReport, marker: string, points: WeightPoint[], trim: Trim): string {
  const kept = trim.keepPoints === undefined ? points : points.slice(points.length - trim.keepPoints)
  const sections = [
    marker,
    renderHeadline(report),
    renderRollback(report),
    renderHeldNotice(report),
    renderLadder(report),
    renderChecks(report),
    renderSequentialEvidence(report),
    renderApproval(report),
    renderWarnings(report),
    renderWeightChart(kept, points.length - kept.length),
    renderChanges(report, trim.diffBudget),
    renderFooter(report)
  ]
  return sections.filter((section): section is string => section !== undefined).join('\n\n') + '\n'
}

function diffLength(report: RunReport): number {
  return report.changes.reduce((total, change) => total + change.diff.length, 0)
}

/**
 * Renders the report, trimming the oldest detail first when it would exceed `maxChars`: the diff, then the
 * older weight points. The status, the ladder and the current checks are always kept.
 */
export function renderReport(report: RunReport, opts: RenderOptions): string {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS
  const points = weightPoints(report)
  const full = assemble(report, opts.marker, points, {})
  if (full.length <= maxChars) return full

  const withoutDiff = assemble(report, opts.marker, points, { diffBudget: 0 })
  const diffBudget = maxChars - withoutDiff.length - MIN_DIFF_CHARS
  if (diffBudget >= MIN_DIFF_CHARS) {
    const trimmed = assemble(report, opts.marker, points, {
      diffBudget: Math.min(diffBudget, diffLength(report))
    })
    if (trimmed.length <= maxChars) return trimmed
  }
  if (withoutDiff.length <= maxChars) return withoutDiff

  // Binary search for the most weight points that still fit.
  let fits = 0
  let tooMany = points.length
  while (tooMany - fits > 1) {
    const middle = Math.floor((fits + tooMany) / 2)
    if (assemble(report, opts.marker, points, { diffBudget: 0, keepPoints: middle }).length <= maxChars)
      fits = middle
    else tooMany = middle
  }
  const shortest = assemble(report, opts.marker, points, { diffBudget: 0, keepPoints: fits })
  if (shortest.length <= maxChars) return shortest
  // Only reachable with an absurd ladder or limit: cut hard rather than exceed what GitHub accepts.
  const notice = '\n\n_Report truncated._\n'
  return shortest.slice(0, Math.max(0, maxChars - notice.length)) + notice
}
