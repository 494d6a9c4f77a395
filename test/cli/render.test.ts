import { describe, expect, it } from '@jest/globals'
import { makeStyle, renderReport, useColor } from '../../src/cli/render.js'
import { latestEvaluations } from '../../src/report/evaluations.js'
import type { RunReport } from '../../src/report/types.js'
import { sampleReport, trafficFeaturesReport } from '../report/sample-report.js'

const ESC = '\u001b['
const plain = makeStyle(false)
const colored = makeStyle(true)

function rolledBackReport(overrides: Partial<RunReport> = {}): RunReport {
  const base = sampleReport()
  return sampleReport({
    status: 'rolled-back',
    message: 'rolled back to v1: success-rate 0.91 < 0.99',
    stage: { name: 'test-user', index: 1 },
    nextStage: null,
    weight: { before: 5, after: 0 },
    ladder: base.ladder.map(entry => (entry.index === 2 ? { ...entry, state: 'rolled-back' } : entry)),
    rollback: {
      reason: 'success-rate 0.91 < 0.99',
      stageIndex: 2,
      check: 'success-rate',
      value: 0.91,
      threshold: '>= 0.99',
      at: '2024-05-01T11:00:00Z'
    },
    ...overrides
  })
}

describe('useColor', () => {
  it('colours a TTY only, and never with NO_COLOR or TERM=dumb', () => {
    expect(useColor(true, {})).toBe(true)
    expect(useColor(false, {})).toBe(false)
    expect(useColor(undefined, {})).toBe(false)
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false)
    expect(useColor(true, { TERM: 'dumb' })).toBe(false)
    expect(useColor(true, { NO_COLOR: '' })).toBe(true)
  })
})

describe('renderReport', () => {
  it('lists the routing objects when the release moves several', () => {
    const report = sampleReport({
      objects: ['VirtualService default/reviews', 'VirtualService istio-ingress/bookinfo']
    })
    expect(renderReport(report, plain).split('\n')[2]).toBe(
      'routing: VirtualService default/reviews, VirtualService istio-ingress/bookinfo'
    )
  })

  it('starts with the status line, then the release and stage', () => {
    const lines = renderReport(sampleReport(), plain).split('\n')
    expect(lines[0]).toBe('advanced: Stage 2/4 5% passed [10m]')
    expect(lines[1]).toBe('VirtualService default/reviews · revision v2 · v1 -> v2')
    expect(lines[2]).toBe('stage 2/4 5% · canary weight 0% -> 5% · next: 50%')
  })

  it('draws the ladder as aligned columns of stage, split and state', () => {
    const text = renderReport(sampleReport(), plain)
    expect(text).toContain(
      [
        'Ladder',
        '  #  stage      split                        state',
        '  1  test-user  cookie user=test-user -> v2  passed',
        '  2  5%         95% v1 / 5% v2               passed',
        '  3  50%        50% v1 / 50% v2              pending',
        '  4  finalize   100% v2                      pending'
      ].join('\n')
    )
  })

  it('shows the mirror percentage and the sticky cookie in the ladder', () => {
    expect(renderReport(trafficFeaturesReport(), plain)).toContain(
      [
        'Ladder',
        '  #  stage   split                                          state',
        '  1  shadow  100% v1, 50% copied to v2                      passed',
        '  2  10%     90% v1 / 10% v2, sticky (cookie istio-canary)  current',
        '  3  100%    100% v2                                        pending'
      ].join('\n')
    )
  })

  it('shows the latest evaluation of each check', () => {
    const text = renderReport(sampleReport(), plain)
    expect(text).toContain('Last evaluations (3 in all)')
    expect(text).toMatch(/^ {2}pass {2}success-rate {2}0\.995 {2}>= 0\.99 {2}success-rate 0\.995$/m)
    expect(text).toMatch(/^ {2}pass {2}latency-p99 {3}0\.2 {4}>= 0\.99 {2}latency-p99 0\.2$/m)
    expect(text).not.toContain('0.95 ')
  })

  it('shows the changes with their diffs, and the next step', () => {
    const text = renderReport(sampleReport(), plain)
    expect(text).toContain(
      'Changes\n  update VirtualService default/reviews\n    --- before\n    +++ after\n'
    )
    expect(text).toContain('    -      weight: 100\n    +      weight: 95\n')
    expect(text).toContain("Next: 'istio-canary advance' applies stage 3 (50%).")
  })

  it('lists warnings', () => {
    const text = renderReport(sampleReport({ warnings: ['drift on VirtualService default/reviews'] }), plain)
    expect(text).toContain('Warnings\n  warning: drift on VirtualService default/reviews')
  })

  it('has no ANSI codes without colour', () => {
    expect(renderReport(rolledBackReport({ warnings: ['w'] }), plain)).not.toContain(ESC)
  })

  it('colours the status, states, verdicts and diff lines with colour on', () => {
    const text = renderReport(sampleReport(), colored)
    expect(text.startsWith(`${ESC}32m${ESC}1madvanced${ESC}22m${ESC}39m: Stage 2/4 5% passed`)).toBe(true)
    expect(text).toContain(`${ESC}32mpassed${ESC}39m`)
    expect(text).toContain(`${ESC}2mpending${ESC}22m`)
    expect(text).toContain(`${ESC}31m-      weight: 100${ESC}39m`)
    expect(text).toContain(`${ESC}32m+      weight: 95${ESC}39m`)
    // Colour codes do not break the alignment of the columns.
    const stripped = text.replace(new RegExp(`${ESC.replace('[', '\\[')}\\d+m`, 'g'), '')
    expect(stripped).toBe(renderReport(sampleReport(), plain))
  })

  it('shows why a rolled-back run rolled back, in red with colour on', () => {
    const text = renderReport(rolledBackReport(), plain)
    expect(text.split('\n')[0]).toBe('rolled-back: rolled back to v1: success-rate 0.91 < 0.99 [10m]')
    expect(text).toContain('Rolled back: success-rate 0.91 < 0.99 (success-rate: 0.91, threshold >= 0.99)')
    expect(text).toMatch(/^ {2}2 {2}5% +95% v1 \/ 5% v2 +rolled-back$/m)
    expect(text).not.toContain('Next:')
    const coloredText = renderReport(rolledBackReport(), colored)
    expect(coloredText.startsWith(`${ESC}31m${ESC}1mrolled-back`)).toBe(true)
    expect(coloredText).toContain(`${ESC}31m${ESC}1mRolled back:${ESC}22m${ESC}39m success-rate 0.91 < 0.99`)
  })

  it('shows a manual rollback reason without a check', () => {
    const report = rolledBackReport({
      command: 'rollback',
      rollback: { reason: 'manual rollback', stageIndex: 2, at: '2024-05-01T11:00:00Z' }
    })
    expect(renderReport(report, plain)).toContain('Rolled back: manual rollback\n')
  })

  it('renders an idle status with no stage and no evaluations', () => {
    const report = sampleReport({
      command: 'status',
      status: 'idle',
      message: 'no release in progress',
      stage: null,
      nextStage: { name: '5%', index: 1 },
      weight: { before: 0, after: 0 },
      ladder: sampleReport().ladder.map(entry => ({ ...entry, state: 'pending' as const })),
      changes: [],
      evaluations: [],
      timings: { startedAt: '2024-05-01T10:00:00Z', finishedAt: '2024-05-01T10:00:00Z', durationMs: 120 }
    })
    const text = renderReport(report, plain)
    expect(text.split('\n')[0]).toBe('idle: no release in progress [120ms]')
    expect(text).toContain('no stage in effect · canary weight 0% · next: 5%')
    expect(text).not.toContain('Last evaluations')
    expect(text).not.toContain('Changes')
  })

  it('marks a dry run and a finished release', () => {
    const dryRun = renderReport(sampleReport({ dryRun: true }), plain)
    expect(dryRun.split('\n')[0]).toContain('[dry run]')
    expect(dryRun).toContain('Changes (dry run, not applied)')
    const done = renderReport(sampleReport({ status: 'completed', done: true, nextStage: null }), plain)
    expect(done.split('\n')[2]).toMatch(/ · done$/)
  })
})

describe('latestEvaluations', () => {
  it('keeps the last evaluation of each check in first-seen order', () => {
    const latest = latestEvaluations(sampleReport().evaluations)
    expect(latest.map(evaluation => [evaluation.check, evaluation.value])).toEqual([
      ['success-rate', 0.995],
      ['latency-p99', 0.2]
    ])
  })
})
