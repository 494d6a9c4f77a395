/** Sequential evidence and held stages in the PR comment and the terminal. */
import { describe, expect, it } from '@jest/globals'
import type { Evaluation, SequentialEvidence } from '../../src/analysis/types.js'
import { makeStyle, renderReport as renderTerminal } from '../../src/cli/render.js'
import { formatRatio, heldNotice, summarizeEvidence } from '../../src/report/evidence.js'
import { renderReport as renderMarkdown } from '../../src/report/render-markdown.js'
import { sampleReport } from './sample-report.js'

const REJECTED: SequentialEvidence = {
  measure: 'failure-rate',
  estimate: 9.2631,
  lower: 3.6412,
  upper: 21.43,
  acceptedMin: 0,
  acceptedMax: 1.25,
  logEValue: 15.853,
  logThreshold: Math.log(20),
  alpha: 0.05,
  canarySamples: 2000,
  stableSamples: 38000,
  canaryEvents: 19,
  stableEvents: 39,
  intervals: 6
}

function sequential(
  evidence: SequentialEvidence,
  verdict: Evaluation['verdict'],
  check = 'errors'
): Evaluation {
  return {
    check,
    kind: 'compare',
    at: '2024-05-01T11:06:00Z',
    value: evidence.estimate,
    threshold: 'failure-rate ratio <= 1.25 (alpha 0.05)',
    verdict,
    message: 'canary 0.95% (19 of 2000) failed vs stable 0.103% (39 of 38000), ratio 9.26 [3.64, 21.4]',
    evidence,
    ...(verdict === 'fail' && { decisive: true })
  }
}

const marker = '<!-- marker -->'

describe('summarizeEvidence', () => {
  it('gives a rejection its estimate, bounds, accepted range and the bound that crossed it', () => {
    expect(summarizeEvidence(sequential(REJECTED, 'fail'))).toEqual({
      check: 'errors',
      measure: 'failure rate',
      estimate: '9.26',
      bounds: '[3.64, 21.4]',
      level: '95%',
      accepted: '≤ 1.25',
      evidence: '15.85 of 3.00',
      progress: 'threshold reached: rolled back',
      data: 'canary 19 of 2000 failed, stable 39 of 38000',
      rejected: true,
      crossing: 'lower bound 3.64 > 1.25'
    })
  })

  it('says how far a passing check is from a rollback', () => {
    const partway = { ...REJECTED, logEValue: 1.2, lower: 0.9 }
    expect(summarizeEvidence(sequential(partway, 'pass'))).toMatchObject({
      progress: '40% of the way to a rollback',
      rejected: false
    })
    expect(summarizeEvidence(sequential({ ...partway, logEValue: -4 }, 'pass'))?.progress).toBe(
      'none: the data favour the canary'
    )
  })

  it('shows unbounded ends, both directions and the other measures', () => {
    const either = {
      ...REJECTED,
      measure: 'quantile' as const,
      quantile: 0.9,
      estimate: null,
      upper: Infinity,
      acceptedMin: 0.75,
      canaryEvents: undefined,
      stableEvents: undefined
    }
    expect(summarizeEvidence(sequential(either, 'pass'))).toMatchObject({
      measure: 'quantile 0.9',
      estimate: '—',
      bounds: '[3.64, ∞]',
      level: '97.5%',
      accepted: '0.75 to 1.25',
      data: '2000 canary and 38000 stable samples over 6 intervals'
    })
    const slow = { ...REJECTED, measure: 'slow-share' as const, slowerThanMs: 250 }
    expect(summarizeEvidence(sequential(slow, 'fail'))).toMatchObject({
      measure: 'share slower than 250ms',
      data: 'canary 19 of 2000 slow, stable 39 of 38000'
    })
    expect(formatRatio(Infinity)).toBe('∞')
    expect(summarizeEvidence({ ...sequential(REJECTED, 'pass'), evidence: undefined })).toBeUndefined()
  })
})

describe('the PR comment', () => {
  it('shows each sequential check’s evidence, and names the bound a rejection crossed', () => {
    const markdown = renderMarkdown(
      sampleReport({ status: 'rolled-back', evaluations: [sequential(REJECTED, 'fail')] }),
      { marker }
    )
    expect(markdown).toContain('#### Canary against stable (sequential)')
    expect(markdown).toContain(
      '| `errors` | failure rate × 9.26 | \\[3.64, 21.4\\] at 95% | ≤ 1.25 | 15\\.85 of 3.00: threshold reached: rolled back (**lower bound 3.64 \\> 1.25**) | canary 19 of 2000 failed, stable 39 of 38000 |'
    )
  })

  it('says when nothing estimates the ratio yet', () => {
    const none = { ...REJECTED, estimate: null, logEValue: -0.3, lower: 0, upper: Infinity }
    const markdown = renderMarkdown(sampleReport({ evaluations: [sequential(none, 'pass')] }), { marker })
    expect(markdown).toContain(
      '| `errors` | failure rate: no estimate yet | \\[0, ∞\\] at 95% | ≤ 1.25 | \\-0.30 of 3.00: none: the data favour the canary |'
    )
  })

  it('has no sequential section without sequential checks', () => {
    expect(renderMarkdown(sampleReport(), { marker })).not.toContain('sequential')
  })

  it('names the checks of a held stage, what they saw, and the three ways on', () => {
    const noData: Evaluation = {
      ...sequential({ ...REJECTED, canarySamples: 12 }, 'nodata', 'errors|`vs`'),
      value: null,
      message: 'canary 0% (0 of 12) failed vs stable 0.1% (4 of 4000); fewer than 50 requests on a version'
    }
    const held = sampleReport({ status: 'inconclusive', evaluations: [noData], noData: [noData] })
    const markdown = renderMarkdown(held, { marker })
    expect(markdown).toContain('**❔ Held:** stage `5%` stays applied.')
    // Plan text stays literal: inside a code span that survives its backticks.
    expect(markdown).toContain(
      '- `` errors|`vs` ``: canary 0% (0 of 12) failed vs stable 0.1% (4 of 4000); fewer than 50 requests on a version'
    )
    expect(markdown).toContain(
      'To go on:\n\n- send traffic to the canary, then run `advance` again: it watches this stage again\n- lower `minSamples`'
    )
    expect(markdown).toContain('/canary rollback')
    // In the evidence table the pipe is escaped, and a crossing without enough samples is no rollback.
    expect(markdown).toContain(
      '| `` errors\\|`vs` `` | failure rate × 9.26 | \\[3.64, 21.4\\] at 95% | ≤ 1.25 | 15\\.85 of 3.00: threshold reached, but too few samples for a verdict |'
    )
    const verify = renderMarkdown({ ...held, command: 'verify' }, { marker })
    expect(verify).toContain('**❔ Inconclusive:** nothing was changed.')
    expect(renderMarkdown(sampleReport({ noData: [noData] }), { marker })).not.toContain('❔ Held')
  })
})

describe('the terminal', () => {
  const plain = makeStyle(false)

  it('shows the evidence and a held stage', () => {
    const noData = {
      ...sequential(REJECTED, 'nodata', 'slow'),
      value: null,
      message: 'fewer than 50 requests'
    }
    const text = renderTerminal(
      sampleReport({
        status: 'inconclusive',
        evaluations: [sequential({ ...REJECTED, logEValue: 1.2, lower: 0.9 }, 'pass'), noData],
        noData: [noData]
      }),
      plain
    )
    expect(text).toContain('Held: stage 5% stays applied; no check failed, but these had no data:')
    expect(text).toContain('  slow: fewer than 50 requests')
    expect(text).toContain(
      '  - send traffic to the canary, then run advance again: it watches this stage again'
    )
    expect(text).toContain('Canary against stable (sequential, bounds valid at every evaluation)')
    expect(text).toMatch(
      / {2}errors +failure rate x9\.26 +\[0\.9, 21\.4\] at 95% +accepted ≤ 1\.25 +evidence 1\.20 of 3\.00: 40% of the way to a rollback/
    )
    expect(text).not.toContain("Next: 'istio-canary advance'")
  })

  it('shows the bound a rejection crossed', () => {
    const text = renderTerminal(
      sampleReport({ status: 'rolled-back', evaluations: [sequential(REJECTED, 'fail')] }),
      plain
    )
    expect(text).toContain('evidence 15.85 of 3.00: lower bound 3.64 > 1.25')
  })
})

describe('heldNotice', () => {
  it('is there only for an inconclusive run with checks that had no data', () => {
    expect(heldNotice(sampleReport())).toBeUndefined()
    expect(heldNotice(sampleReport({ status: 'inconclusive', noData: [] }))).toBeUndefined()
  })
})
