/**
 * A sequential check's evidence in words and numbers, and what to do about a held stage: shared by the PR
 * comment (render-markdown.ts) and the terminal (cli/render.ts). Pure.
 */
import type { Evaluation, SequentialEvidence } from '../analysis/types.js'
import { formatDuration } from '../common/duration.js'
import { latestEvaluations } from './evaluations.js'
import type { RunReport } from './types.js'

export interface EvidenceSummary {
  check: string
  /** What the ratio compares, e.g. "failure rate", "share slower than 250ms", "median". */
  measure: string
  /** canary / stable, e.g. "9.26"; "∞" when only the canary has any; "—" with nothing to estimate. */
  estimate: string
  /** The anytime-valid bounds, e.g. "[3.64, 21.4]", and their level, e.g. "95%". */
  bounds: string
  level: string
  /** The ratios the tolerance accepts, e.g. "≤ 1.25". */
  accepted: string
  /** "15.85 of 3.00": the log e-value against the rejection threshold log(1/alpha). */
  evidence: string
  /** How close the evidence is to a rollback, e.g. "40% of the way to a rollback". */
  progress: string
  /** What the counts were, e.g. "canary 200 of 4000 failed, stable 76 of 76000". */
  data: string
  rejected: boolean
  /** For a rejection: the bound that crossed the accepted range, e.g. "lower bound 3.64 > 1.25". */
  crossing?: string
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null || Number.isNaN(ratio)) return '—'
  if (ratio === Infinity) return '∞'
  return String(Number(ratio.toPrecision(3)))
}

function measureOf(evidence: SequentialEvidence): string {
  if (evidence.measure === 'failure-rate') return 'failure rate'
  if (evidence.measure === 'slow-share') {
    return `share slower than ${formatDuration(evidence.slowerThanMs ?? 0)}`
  }
  return evidence.quantile === undefined || evidence.quantile === 0.5
    ? 'median'
    : `quantile ${evidence.quantile}`
}

function acceptedOf(evidence: SequentialEvidence): string {
  const { acceptedMin, acceptedMax } = evidence
  if (acceptedMin <= 0) return `≤ ${formatRatio(acceptedMax)}`
  if (!Number.isFinite(acceptedMax)) return `≥ ${formatRatio(acceptedMin)}`
  return `${formatRatio(acceptedMin)} to ${formatRatio(acceptedMax)}`
}

function progressOf(evidence: SequentialEvidence, verdict: Evaluation['verdict']): string {
  const share = evidence.logEValue / evidence.logThreshold
  if (share >= 1 && verdict === 'nodata') return 'threshold reached, but too few samples for a verdict'
  if (share >= 1) return 'threshold reached: rolled back'
  if (share <= 0) return 'none: the data favour the canary'
  return `${Math.round(share * 100)}% of the way to a rollback`
}

function dataOf(evidence: SequentialEvidence): string {
  const { canarySamples, stableSamples, canaryEvents, stableEvents } = evidence
  if (canaryEvents === undefined || stableEvents === undefined) {
    return `${canarySamples} canary and ${stableSamples} stable samples over ${evidence.intervals} intervals`
  }
  const what = evidence.measure === 'failure-rate' ? 'failed' : 'slow'
  return `canary ${canaryEvents} of ${canarySamples} ${what}, stable ${stableEvents} of ${stableSamples}`
}

function crossingOf(evidence: SequentialEvidence): string | undefined {
  if (evidence.logEValue < evidence.logThreshold) return undefined
  if (evidence.lower > evidence.acceptedMax) {
    return `lower bound ${formatRatio(evidence.lower)} > ${formatRatio(evidence.acceptedMax)}`
  }
  if (evidence.upper < evidence.acceptedMin) {
    return `upper bound ${formatRatio(evidence.upper)} < ${formatRatio(evidence.acceptedMin)}`
  }
  return `evidence ${evidence.logEValue.toFixed(2)} ≥ ${evidence.logThreshold.toFixed(2)}`
}

export function summarizeEvidence(evaluation: Evaluation): EvidenceSummary | undefined {
  const evidence = evaluation.evidence
  if (!evidence) return undefined
  // With both directions watched, each bound holds at 1 - alpha/2.
  const either = evidence.acceptedMin > 0 && Number.isFinite(evidence.acceptedMax)
  const level = 1 - (either ? evidence.alpha / 2 : evidence.alpha)
  const crossing = crossingOf(evidence)
  return {
    check: evaluation.check,
    measure: measureOf(evidence),
    estimate: formatRatio(evidence.estimate),
    bounds: `[${formatRatio(evidence.lower)}, ${formatRatio(evidence.upper)}]`,
    level: `${Number((level * 100).toPrecision(4))}%`,
    accepted: acceptedOf(evidence),
    evidence: `${evidence.logEValue.toFixed(2)} of ${evidence.logThreshold.toFixed(2)}`,
    progress: progressOf(evidence, evaluation.verdict),
    data: dataOf(evidence),
    rejected: evaluation.verdict === 'fail' && crossing !== undefined,
    ...(crossing !== undefined && { crossing })
  }
}

/** The evidence of every sequential check's latest evaluation in the run. */
export function sequentialEvidence(report: RunReport): EvidenceSummary[] {
  return latestEvaluations(report.evaluations).flatMap(evaluation => summarizeEvidence(evaluation) ?? [])
}

/** A held stage (or a verify without data): which checks had no data, and what to do about it. */
export interface HeldNotice {
  /** The stage stays applied and held (advance), or nothing changed (verify). */
  held: boolean
  stage?: string
  noData: { check: string; message: string }[]
  /** Our own words, with `code` in backticks (the terminal drops them). */
  actions: string[]
}

export function heldNotice(report: RunReport): HeldNotice | undefined {
  if (report.status !== 'inconclusive' || report.noData.length === 0) return undefined
  const held = report.command !== 'verify'
  return {
    held,
    ...(report.stage && { stage: report.stage.name }),
    noData: report.noData.map(evaluation => ({ check: evaluation.check, message: evaluation.message })),
    actions: [
      held
        ? 'send traffic to the canary, then run `advance` again: it watches this stage again'
        : 'send traffic to the canary, then `verify` again',
      'lower `minSamples` (compare checks) if the canary cannot get more traffic at this stage',
      'or roll back (the `rollback` command, or a `/canary rollback` comment)'
    ]
  }
}
