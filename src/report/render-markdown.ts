/**
 * Markdown for the sticky PR comment and the job summary. Pure: a RunReport in, a string out.
 */
import type { Evaluation } from '../analysis/types.js'
import { latestEvaluations } from './evaluations.js'
import { codeBlock, codeSpan, escapeHtml, escapeHtmlText, escapeMarkdown } from './markdown.js'
import { heldNotice, sequentialEvidence } from './evidence.js'
import { renderHistory, weightPoints, type WeightPoint } from './history.js'
import { reportDay, shortTime, table, tableCell } from './table.js'
import type { LadderEntry, RunReport, RunStatus, StageState } from './types.js'

export { escapeHtml, tableCell, weightPoints }

/** GitHub rejects comment bodies over 65,536 characters; stay clear of it. */
const DEFAULT_MAX_CHARS = 65000
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

const NOTICE_START = '<!-- canary-notice -->'
const NOTICE_END = '<!-- /canary-notice -->'

/**
 * The sticky comment body with a warning notice right after the marker, replacing any earlier notice and keeping
 * the rest of the report. The next full report rewrites the body, which clears the notice. `notice` is Markdown:
 * callers escape what they did not write (see `escapeMarkdown`).
 */
export function withNotice(existingBody: string | undefined, marker: string, notice: string): string {
  const section = `${NOTICE_START}\n> [!WARNING]\n> ${notice.replace(/\s*[\r\n]+\s*/g, ' ')}\n${NOTICE_END}`
  const rest = (existingBody ?? '')
    .replace(marker, '')
    .replace(new RegExp(`${NOTICE_START}[\\s\\S]*?${NOTICE_END}\\n*`), '')
    .replace(/^\n+/, '')
  return `${marker}\n${section}\n\n${rest}`.trimEnd() + '\n'
}

/** A number short enough for a table: at most four significant digits after the point. */
function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value)
  return String(Number(value.toPrecision(4)))
}

function currentLadderEntry(report: RunReport): LadderEntry | undefined {
  if (!report.stage) return undefined
  return report.ladder.find(entry => entry.index === report.stage?.index)
}

function weightSplit(report: RunReport): string {
  const canaryWeight = report.weight.after
  return `${100 - canaryWeight}% ${report.stable} / ${canaryWeight}% ${report.canary}`
}

/** State, split and outcome: the first lines a reviewer reads. */
function renderHeadline(report: RunReport): string {
  const emoji = STATUS_EMOJI[report.status] ?? 'ℹ️'
  const split = currentLadderEntry(report)?.split ?? weightSplit(report)
  const lines = [
    `### ${emoji} Canary ${codeSpan(`${report.namespace}/${report.service}`)}: **${report.status}**`,
    '',
    [
      `**Revision** ${codeSpan(report.revision)}`,
      // No stage in effect (idle, rolled back): the ladder below says where the release stopped.
      report.stage
        ? `**Stage** ${report.stage.index}/${report.ladder.length} ${escapeMarkdown(report.stage.name)}`
        : undefined,
      `**Split** ${escapeMarkdown(split)}`
    ]
      .filter(part => part !== undefined)
      .join(' · '),
    '',
    `> ${escapeMarkdown(report.message)}`
  ]
  // Several routing objects move together: say which, so a reviewer knows the ingress moved too.
  if (report.objects.length > 1) {
    lines.splice(3, 0, '', `**Routing** ${report.objects.map(object => codeSpan(object)).join(', ')}`)
  }
  if (report.dryRun) lines.push('', '_Dry run: nothing was changed in the cluster._')
  return lines.join('\n')
}

/** What a reviewer can do now, in one line; undefined when there is nothing to do. */
function renderNext(report: RunReport): string | undefined {
  const approval = report.approval
  if (approval) {
    const next = `the next stage, **${escapeMarkdown(approval.nextStage)}**`
    const ways: string[] = []
    if (approval.environment) {
      ways.push(
        `approve the pending deployment to environment ${codeSpan(approval.environment)} in the workflow run`
      )
    }
    if (approval.comment)
      ways.push(`comment ${codeSpan(approval.comment)} on this pull request (write permission)`)
    if (ways.length === 0) return `**Next** The next run applies ${next}.`
    return `**Next** To apply ${next}: ${ways.join(', or ')}.`
  }
  if (report.status === 'rolled-back' && !report.dryRun) {
    return `**Next** Release a new revision, or start ${codeSpan(report.revision)} again from the pin with the \`retry\` command (\`/canary retry\`) once the cause is fixed.`
  }
  return undefined
}

function renderLadder(report: RunReport): string {
  const day = reportDay(report)
  const rows = report.ladder.map(entry => [
    String(entry.index),
    tableCell(entry.name),
    tableCell(entry.split),
    STATE_LABEL[entry.state] ?? tableCell(entry.state),
    tableCell(shortTime(entry.at, day))
  ])
  return ['#### Stages', '', table(['#', 'Stage', 'Traffic split', 'State', 'When (UTC)'], rows)].join('\n')
}

function renderChecks(report: RunReport): string {
  const evaluations = latestEvaluations(report.evaluations)
  if (evaluations.length === 0) return '#### Checks\n\n_No check was evaluated in this run._'
  const rows = evaluations.map(evaluation => [
    tableCell(evaluation.check),
    formatValue(evaluation.value),
    tableCell(evaluation.threshold),
    VERDICT_LABEL[evaluation.verdict] ?? tableCell(evaluation.verdict)
  ])
  // What a failed or silent check said, unless the outcome line or the held notice above already says it.
  const held = new Set(heldNotice(report)?.noData.map(({ check }) => check))
  const details = evaluations
    .filter(
      evaluation =>
        evaluation.verdict !== 'pass' &&
        !report.message.includes(evaluation.message) &&
        !held.has(evaluation.check)
    )
    .map(evaluation => `- ${tableCell(evaluation.check)}: ${tableCell(evaluation.message)}`)
  const last = evaluations.reduce(
    (latest, evaluation) => (evaluation.at > latest ? evaluation.at : latest),
    ''
  )
  return [
    `#### Checks (last evaluation, ${shortTime(last, reportDay(report))} UTC)`,
    '',
    table(['Check', 'Value', 'Threshold', 'Verdict'], rows),
    ...(details.length > 0 ? ['', ...details] : [])
  ].join('\n')
}

/** The evidence of the sequential checks: estimate, anytime-valid bounds, and how close to a rollback. */
function renderSequentialEvidence(report: RunReport): string | undefined {
  const summaries = sequentialEvidence(report)
  if (summaries.length === 0) return undefined
  const rows = summaries.map(summary => [
    codeSpan(summary.check, { inTable: true }),
    escapeMarkdown(
      summary.estimate === '—'
        ? `${summary.measure}: no estimate yet`
        : `${summary.measure} × ${summary.estimate}`
    ),
    escapeMarkdown(`${summary.bounds} at ${summary.level}`),
    escapeMarkdown(summary.accepted),
    escapeMarkdown(`${summary.evidence}: ${summary.progress}`) +
      (summary.rejected && summary.crossing ? ` (**${escapeMarkdown(summary.crossing)}**)` : ''),
    escapeMarkdown(summary.data)
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
  const stage = notice.stage ? ` ${codeSpan(notice.stage)}` : ''
  const head = notice.held
    ? `**❔ Held:** stage${stage} stays applied. No check failed, but these had no data at the end of the watch:`
    : `**❔ Inconclusive:** nothing was changed. No check failed, but these had no data:`
  return [
    head,
    '',
    ...notice.noData.map(({ check, message }) => `- ${codeSpan(check)}: ${tableCell(message)}`),
    '',
    'To go on:',
    '',
    // The actions are the action's own words, with code spans meant as such.
    ...notice.actions.map(action => `- ${action}`)
  ].join('\n')
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

/** "update VirtualService default/reviews ×2, create …": each change once, with its count. */
function changeList(report: RunReport): string {
  const counts = new Map<string, number>()
  for (const change of report.changes) {
    const key = `${change.action} ${change.object}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([key, count]) => (count > 1 ? `${key} ×${count}` : key)).join(', ')
}

/** The routing change of this run; `budget` bounds the diff text (undefined: unbounded, 0: omitted). */
function renderChanges(report: RunReport, budget: number | undefined): string | undefined {
  if (report.changes.length === 0) return undefined
  const summary = `<summary>Routing change in this run: ${escapeHtmlText(changeList(report))}</summary>`
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
  return `<details>${summary}\n\n${codeBlock(diff, 'diff')}\n\n</details>`
}

/** The one place the full date is printed. */
function renderFooter(report: RunReport): string {
  const run = report.run.url
    ? `[workflow run${report.run.id ? ` ${escapeMarkdown(report.run.id)}` : ''}](${encodeURI(report.run.url)})`
    : 'local run'
  const finished = report.timings.finishedAt.replace(
    /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}).*$/,
    '$1 $2 UTC'
  )
  return `<sub>${escapeMarkdown(report.command)} · ${run} · finished ${escapeMarkdown(finished)} · istio-canary-action</sub>`
}

interface Trim {
  /** Characters of diff text to keep (undefined: all, 0: none). */
  diffBudget?: number
  /** How many of the newest weight points to keep (undefined: all). */
  keepPoints?: number
}

/**
 * The order a reviewer reads in: state, split and outcome; the checks' verdicts; what to do next; the
 * stages. History, routing diffs and warnings are collapsed below.
 */
function assemble(report: RunReport, marker: string, points: WeightPoint[], trim: Trim): string {
  const kept = trim.keepPoints === undefined ? points : points.slice(points.length - trim.keepPoints)
  const sections = [
    marker,
    renderHeadline(report),
    renderHeldNotice(report),
    renderChecks(report),
    renderSequentialEvidence(report),
    renderNext(report),
    renderLadder(report),
    renderWarnings(report),
    renderHistory(report, kept, points.length - kept.length),
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
