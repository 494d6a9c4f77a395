import { describe, expect, it } from '@jest/globals'
import { renderReport, reportMarker, tableCell, weightPoints } from '../../src/report/render-markdown.js'
import type { HistoryEntry } from '../../src/report/types.js'
import { sampleReport, trafficFeaturesReport } from './sample-report.js'

const marker = reportMarker('default', 'reviews')

describe('renderReport', () => {
  it('starts with the hidden marker and shows status, revision, stage and split at a glance', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(marker).toBe('<!-- istio-canary-action:default/reviews -->')
    expect(markdown.split('\n')[0]).toBe(marker)
    expect(markdown).toContain('**advanced**')
    expect(markdown).toContain('**Revision** `v2` · **Stage** 2/4 5% · **Split** 95% v1 / 5% v2')
  })

  it('renders the ladder with every stage and its state', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(markdown).toContain('| # | Stage | Traffic split | State | When (UTC) |')
    expect(markdown).toContain('| 2 | 5% | 95% v1 / 5% v2 | ✅ passed | 11:00:00 |')
    expect(markdown).toContain('| 3 | 50% | 50% v1 / 50% v2 | ⏳ pending |  |')
  })

  it('shows the mirror percentage and the sticky cookie in the ladder and the split at a glance', () => {
    const markdown = renderReport(trafficFeaturesReport(), { marker })
    expect(markdown).toContain('| 1 | shadow | 100% v1, 50% copied to v2 | ✅ passed |  |')
    expect(markdown).toContain('| 2 | 10% | 90% v1 / 10% v2, sticky (cookie istio-canary) | ▶️ current |  |')
    expect(markdown).toContain('| 3 | 100% | 100% v2 | ⏳ pending |  |')
    expect(markdown).toContain('**Split** 90% v1 / 10% v2, sticky (cookie istio-canary)')
  })

  it('shows only the last evaluation of each check, with value, threshold and verdict', () => {
    const markdown = renderReport(sampleReport(), { marker })
    expect(markdown).toContain('#### Checks (last evaluation, 10:59:00 UTC)')
    expect(markdown).toContain('| Check | Value | Threshold | Verdict |')
    expect(markdown).toContain('| success-rate | 0.995 | \\>= 0.99 | ✅ pass |')
    expect(markdown).not.toContain('| 0.95 |')
    expect(markdown).toContain('| latency-p99 | 0.2 |')
  })

  it('says what a failed check reported once, below the table, unless the outcome line says it', () => {
    const report = sampleReport()
    report.evaluations.push({ ...report.evaluations[2], verdict: 'fail', message: 'connect ECONNREFUSED' })
    expect(renderReport(report, { marker })).toContain('- latency-p99: connect ECONNREFUSED')
    report.message = 'rolled back to v1: latency-p99 connect ECONNREFUSED'
    expect(renderReport(report, { marker }).match(/ECONNREFUSED/g)).toHaveLength(1)
  })

  it('says where the next stage is approved', () => {
    expect(renderReport(sampleReport(), { marker })).toContain(
      '**Next** To apply the next stage, **50%**: approve the pending deployment to environment `production-canary`'
    )
    const byComment = sampleReport({ approval: { nextStage: '50%', comment: '/canary advance' } })
    expect(renderReport(byComment, { marker })).toContain('comment `/canary advance` on this pull request')
  })

  it('names every routing object when a release moves several', () => {
    const single = renderReport(sampleReport(), { marker })
    expect(single).not.toContain('**Routing**')
    const several = renderReport(
      sampleReport({ objects: ['VirtualService default/reviews', 'VirtualService istio-ingress/bookinfo'] }),
      { marker }
    )
    expect(several).toContain(
      '**Routing** `VirtualService default/reviews`, `VirtualService istio-ingress/bookinfo`'
    )
  })

  it('explains a rollback once, and says what comes next', () => {
    const report = sampleReport({
      status: 'rolled-back',
      message: 'rolled back to v1: success-rate below threshold',
      stage: null,
      approval: undefined,
      rollback: {
        reason: 'success-rate below threshold',
        stageIndex: 2,
        check: 'success-rate',
        value: 0.91,
        threshold: '>= 0.99',
        at: '2024-05-01T11:01:00Z'
      }
    })
    report.history.push({
      at: '2024-05-01T11:01:00Z',
      revision: 'v2',
      event: 'rolled back: success-rate below threshold',
      stageIndex: 2,
      weight: 0
    })
    const markdown = renderReport(report, { marker })
    expect(markdown).toContain('> rolled back to v1: success-rate below threshold')
    expect(markdown.match(/below threshold/g)).toHaveLength(1)
    expect(markdown).toContain('| 6 | 11:01:00 | 0% | rolled back (reason above) |')
    expect(markdown).toContain(
      '**Next** Release a new revision, or start `v2` again from the pin with the `retry` command (`/canary retry`) once the cause is fixed.'
    )
    expect(markdown).not.toContain('**Stage**')
  })

  it('collapses the routing diff and the history (chart and table) of this release only', () => {
    const report = sampleReport()
    report.history.unshift({ at: '2024-04-30T08:00:00Z', revision: 'v1', event: 'completed v1' })
    const markdown = renderReport(report, { marker })
    expect(markdown).toMatch(
      /<details><summary>Routing change in this run: update VirtualService default\/reviews<\/summary>\n\n```diff\n/
    )
    expect(markdown).toContain('+      weight: 95')
    expect(markdown).toContain(
      '<details><summary>History of v2 (5 events)</summary>\n\n```mermaid\nxychart-beta'
    )
    expect(markdown).toContain('x-axis "step" [1, 2, 3, 4, 5]')
    expect(markdown).toContain('line [0, 0, 0, 5, 5]')
    expect(markdown).toContain('| 4 | 10:50:00 | 5% | applied 5% |')
    expect(markdown).not.toContain('completed v1')
    expect(markdown).toContain('(https://github.example/octo-org/bookinfo/actions/runs/4242)')
    expect(markdown).toContain('finished 2024-05-01 11:00:00 UTC')
  })

  it('prints times of another day with their date', () => {
    const report = sampleReport()
    report.ladder[0].at = '2024-04-30T23:59:00Z'
    expect(renderReport(report, { marker })).toContain(
      '| 1 | test-user | cookie user=test-user -\\> v2 | ✅ passed | 2024-04-30 23:59:00 |'
    )
  })

  it('shows text it did not write exactly as written, never as Markdown or HTML', () => {
    expect(tableCell('a|b\nc <script>')).toBe('a\\|b c \\<script\\>')
    const report = sampleReport({ message: '<img src=x onerror=alert(1)>', evaluations: [] })
    report.ladder[0].split = 'cookie ~ ^(.*?;)?(user=test-user)(;.*)?$ -> v2'
    report.ladder[1].split = 'header x-team | ops -> v2'
    const markdown = renderReport(report, { marker })
    expect(markdown).toContain('> \\<img src=x onerror=alert(1)\\>')
    expect(markdown).not.toMatch(/(?<!\\)<img/)
    expect(markdown).toContain('cookie \\~ ^(.\\*?;)?(user=test-user)(;.\\*)?\\$ -\\> v2')
    expect(markdown).toContain('header x-team \\| ops -\\> v2')
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
    expect(markdown).toContain('| success-rate | 0.995 |')
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
