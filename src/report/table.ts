/** Markdown tables and the times in them. Pure. */
import { bounded, escapeMarkdown } from './markdown.js'
import type { RunReport } from './types.js'

/** Longest text kept in one table cell, so a runaway check message cannot crowd out the ladder. */
const MAX_CELL_CHARS = 300

/** Foreign text for one Markdown table cell: on one line, bounded, shown exactly as written. */
export function tableCell(text: string): string {
  return escapeMarkdown(bounded(text, MAX_CELL_CHARS))
}

export function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`)
  return lines.join('\n')
}

/** `2024-05-01T10:59:00.123Z` -> `10:59:00` on the report's day, `2024-04-30 23:59:00` on another (UTC). */
export function shortTime(iso: string | undefined, day: string): string {
  if (!iso) return ''
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso)
  if (!match) return iso
  return match[1] === day ? match[2] : `${match[1]} ${match[2]}`
}

/** The report's day (UTC): the one date the report prints in full. */
export function reportDay(report: RunReport): string {
  return /^\d{4}-\d{2}-\d{2}/.exec(report.timings.finishedAt)?.[0] ?? ''
}
