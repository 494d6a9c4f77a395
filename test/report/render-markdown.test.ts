import { describe, expect, it } from '@jest/globals'
import { renderReport, reportMarker, tableCell, weightPoints } from '../../src/report/render-markdown.js'
import type { HistoryEntry } from '../../src/report/types.js'
import { sampleReport } from './sample-report.js'

const marker = reportMarker('default', 'reviews')

describe('renderReport', () => {
  it('starts with the hidden marker and shows status, revision, stage and split at a glance', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(marker).toBe('<!-- istio-canary-action:default/reviews -->')
    expect(markdown.split('\n')[0]).toBe(marker)
    expect(markdown).toContain('**advanced**')
    expect(markdown).toContain('`v2`')
    expect(markdown).toContain('stage 2/4 5%')
    expect(markdown).toContain('95% v1 / 5% v2')
  })

  it('renders the ladder with every stage and its state', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(markdown).toContain('| # | Stage | Traffic split | State | When | Run |')
    expect(markdown).toContain('| 2 | 5% | 95% v1 / 5% v2 | ✅ passed | 2024-05-01T11:00:00Z | 4242 |')
    expect(markdown).toContain('| 3 | 50% | 50% v1 / 50% v2 | ⏳ pending |  |  |')
  })

  it('shows only the last evaluation of each check, with value, threshold and verdict', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(markdown).toContain('| success-rate | prometheus | 0.995 | &gt;= 0.99 | ✅ pass |')
    expect(markdown).not.toContain('| 0.95 |')
    expect(markdown).toContain('| latency-p99 | prometheus | 0.2 |')
  })

  it('says where the next stage is approved', () => {
    expect(renderReport(sampleReport(), { marker })).toContain('environment `production-canary`')
    const byComment = sampleReport({ approval: { nextStage: '50%', comment: '/canary advance' } })
    expect(renderReport(byComment, { marker })).toContain('comment `/canary advance` on this pull request')
  })

  it('explains a rollback', () => {
    const report = sampleReport({
      status: 'rolled-back',
      rollback: {
        reason: 'success-rate below threshold',
        stageIndex: 2,
        check: 'success-rate',
        value: 0.91,
        threshold: '>= 0.99',
        at: '2024-05-01T11:01:00Z'
      }
    })
    const markdown = renderReport(report, { marker })
    expect(markdown).toContain('⏪ Rolled back')
    expect(markdown).toContain('success-rate below threshold')
    expect(markdown).toContain('0.91')
  })

  it('puts the routing diff in a collapsed block and the weight chart beside a table', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(markdown).toMatch(
      /<details><summary>Routing change in this run: update VirtualService default\/reviews<\/summary>\n\n```diff\n/
    )
    expect(markdown).toContain('+      weight: 95')
    expect(markdown).toContain('xychart-beta')
    expect(markdown).toContain('x-axis "step" [1, 2, 3, 4, 5]')
    expect(markdown).toContain('line [0, 0, 0, 5, 5]')
    expect(markdown).toContain('| 4 | 2024-05-01T10:50:00Z | 5% | applied 5% |')
    expect(markdown).toContain('(https://github.example/octo-org/bookinfo/actions/runs/4242)')
  })

  it('escapes table cells and HTML in user text', () => {
    expect(tableCell('a|b\nc <script>')).toBe('a\\|b c &lt;script&gt;')
    const report = sampleReport({ message: '<img src=x onerror=alert(1)>', evaluations: [] })
    report.ladder[0].split = 'header x-team | ops -> v2'
    const markdown = renderReport(report, { marker })
    expect(markdown).not.toContain('<img')
    expect(markdown).toContain('header x-team \\| ops -&gt; v2')
  })

  it('keeps a diff with backtick fences inside its code block', () => {
    const report = sampleReport()
    report.changes[0].diff = '+ description: "```"\n'
    expect(renderReport(report, { marker })).toContain('````diff')
  })

  it('takes the weights the history records and falls back to the ladder without history', () => {
    const history: HistoryEntry[] = [{ at: 't1', revision: 'v2', event: 'something custom', weight: 20 }]
    expect(weightPoints(sampleReport({ history })).map(point => point.weight)).toEqual([20])
    expect(weightPoints(sampleReport({ history: [] })).map(point => point.weight)).toEqual([0, 5])
    // An entry without a weight (the engine always writes one) keeps the weight before it; no text is parsed.
    const unweighted: HistoryEntry[] = [
      { at: 't1', revision: 'v2', event: 'applied 50%', stageIndex: 3, weight: 50 },
      { at: 't2', revision: 'v2', event: 'rolled back: success-rate', stageIndex: 3 }
    ]
    expect(weightPoints(sampleReport({ history: unweighted })).map(point => point.weight)).toEqual([50, 50])
  })

  it('stays under the size limit by dropping the diff and old history, never the status, ladder or checks', () => {
    const report = sampleReport()
    report.changes[0].diff = '+ line\n'.repeat(20000)
    report.history = Array.from({ length: 3000 }, (_, step) => ({
      at: `2024-05-01T10:${String(step % 60).padStart(2, '0')}:00Z`,
      revision: 'v2',
      event: `applied ${step % 2 === 0 ? '5%' : 'test-user'}`
    }))
    const markdown = renderReport(report, { marker })
    expect(markdown.length).toBeLessThanOrEqual(65000)
    expect(markdown.split('\n')[0]).toBe(marker)
    expect(markdown).toContain('**advanced**')
    expect(markdown).toContain('| 4 | finalize | 100% v2 | ⏳ pending |')
    expect(markdown).toContain('| success-rate | prometheus | 0.995 |')
    expect(markdown).toContain('The diff is too large for this report')
    expect(markdown).toMatch(/\d+ older point\(s\) omitted/)
    // The newest point survives.
    expect(markdown).toContain('| 3000 |')
  })

  it('truncates a large diff before dropping it', () => {
    const report = sampleReport()
    report.changes[0].diff = '+ line\n'.repeat(12000)
    const markdown = renderReport(report, { marker, maxChars: 60000 })
    expect(markdown.length).toBeLessThanOrEqual(60000)
    expect(markdown).toMatch(/… \d+ more characters omitted/)
    expect(markdown).toContain('line [0, 0, 0, 5, 5]')
  })
})
