/**
 * The PR comment as GitHub renders it: the Markdown goes through cmark-gfm (the renderer GitHub's is built on,
 * with GitHub's extensions) and the assertions are about the HTML a reviewer sees. The report is the demo's
 * rollback of a faulty v3 (test/report/fixtures/rollback-report.json, the input of scripts/comment-preview.ts).
 */
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderReport, reportMarker } from '../../src/report/render-markdown.js'
import type { RunReport } from '../../src/report/types.js'
import { renderGfm } from '../../testkit/markdown/cmark-gfm.js'

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'rollback-report.json')
const WORD_JOINER = '\u2060'

function rollbackReport(): RunReport {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as RunReport
}

function renderHtml(report: RunReport): string {
  return renderGfm(renderReport(report, { marker: reportMarker(report.namespace, report.service) }))
}

/** What a reader sees: tags dropped, entities decoded, invisible word joiners removed. */
function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replaceAll(WORD_JOINER, '')
}

/** The HTML outside every <details> block: what shows before anything is expanded. */
function collapsedView(html: string): string {
  return html.replace(/<details>[\s\S]*?<\/details>/g, '')
}

function tables(html: string): string[][][] {
  return [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map(([, table]) =>
    [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(([, row]) =>
      [...row.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map(([, cell]) => visibleText(cell))
    )
  )
}

describe('the comment after a rollback, as GitHub renders it', () => {
  const report = rollbackReport()
  const html = renderHtml(report)
  const text = visibleText(html)

  it('shows state, split, verdict and next step first, before the ladder and anything collapsed', () => {
    const order = [
      'Canary default/reviews: rolled-back',
      'Split 100% v2 / 0% v3',
      'rolled back to v2: success-rate 0.496844 is below the minimum 0.95',
      '❌ fail',
      'Next Release a new revision',
      'Stages'
    ].map(part => text.indexOf(part))
    expect(order.every(position => position >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(html.indexOf('<details>')).toBeGreaterThan(html.indexOf('finalize'))
  })

  it('says the rollback reason once', () => {
    expect(text.split(report.rollback!.reason)).toHaveLength(2)
    expect(text).toContain('rolled back (reason above)')
  })

  it('keeps the history (chart and events) and the routing diff collapsed', () => {
    const collapsed = collapsedView(html)
    expect(collapsed).not.toContain('<pre')
    expect(collapsed).not.toContain('xychart-beta')
    expect(html).toMatch(/<details><summary>History of v3 \(3 events\)<\/summary>[\s\S]*xychart-beta/)
    expect(html).toMatch(/<details><summary>Routing change in this run: update VirtualService/)
  })

  it('shows only this release in the history, not the releases before it', () => {
    expect(text).not.toContain('applied test-user')
    expect(text).not.toContain('completed v2')
  })

  it('prints short UTC times and the date once', () => {
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/)
    expect(text.match(/2026-12-03/g)).toHaveLength(1)
    expect(text).toContain('finished 2026-12-03 15:54:29 UTC')
    expect(tables(html)[1][1]).toEqual(['1', '5%', '95% v2 / 5% v3', '⏪ rolled back', '15:54:29'])
  })

  it('keeps every table within a comment column: at most five columns and short rows', () => {
    const rendered = tables(html)
    expect(rendered.length).toBeGreaterThanOrEqual(3)
    for (const table of rendered) {
      expect(table[0].length).toBeLessThanOrEqual(5)
      for (const row of table) {
        expect(row).toHaveLength(table[0].length)
        // About 7px a character and 27px of padding a cell, in a column about 750px wide.
        const width = row.reduce((sum, cell) => sum + cell.length * 7 + 27, 0)
        expect(width).toBeLessThanOrEqual(750)
      }
    }
  })
})

describe('text the action did not write, as GitHub renders it', () => {
  const ATTACK = 'x`[Approve](https://evil.example/a)`@victim **bold** _it_ ![i](https://e.example/i.png) #1'
  const HTML = '<img src=x onerror=alert(1)> <b>b</b> <a href="https://evil.example">a</a>'
  const REGEX = '^(.*?;)?(user=test-user)(;.*)?$'

  function attacked(): RunReport {
    const report = rollbackReport()
    report.message = `rolled back to v2: ${ATTACK}`
    report.ladder[0].name = 'x*y*z'
    report.ladder[0].split = `cookie ~ ${REGEX} -> v3`
    report.evaluations = report.evaluations.map(evaluation => ({
      ...evaluation,
      threshold: `body ~ /${REGEX}/ ${HTML}`,
      message: `${evaluation.message} | ${HTML} www.evil.example a@b.example`
    }))
    report.warnings = [`Kubernetes API: ${ATTACK} ${HTML}`]
    report.changes[0].object = `VirtualService default/reviews ${HTML} @victim`
    report.history = report.history.map(entry => ({ ...entry, event: `${entry.event} ${ATTACK}` }))
    return report
  }

  const html = renderHtml(attacked()).replace(/<details>/g, '<details open>')
  const text = visibleText(html)

  it('renders no link, image, emphasis or HTML from it', () => {
    const links = [...html.matchAll(/<a\s[^>]*href="([^"]*)"/g)].map(([, href]) => href)
    expect(links).toEqual(['https://github.example/octo-org/bookinfo/actions/runs/9007'])
    expect(html).not.toMatch(/<img|<em>|<del>|<b>/)
    const strong = [...html.matchAll(/<strong>([\s\S]*?)<\/strong>/g)].map(([, inner]) => inner)
    expect(new Set(strong)).toEqual(new Set(['rolled-back', 'Revision', 'Split', 'Next']))
  })

  it('mentions nobody and references no issue', () => {
    // GitHub links mentions, references and e-mail addresses in text, never inside code.
    const prose = html.replace(/<pre[\s\S]*?<\/pre>/g, '').replace(/<code>[\s\S]*?<\/code>/g, '')
    expect(prose).toContain(`@${WORD_JOINER}victim`)
    expect(prose).not.toMatch(/@victim/)
    expect(prose).not.toMatch(/#1\b/)
    expect(prose).not.toMatch(/a@b\.example/)
  })

  it('shows it exactly as written, in tables that keep their columns', () => {
    expect(text).toContain(ATTACK)
    expect(text).toContain(HTML)
    expect(text).toContain(`cookie ~ ${REGEX} -> v3`)
    expect(text).toContain('x*y*z')
    for (const table of tables(html)) for (const row of table) expect(row).toHaveLength(table[0].length)
  })
})
