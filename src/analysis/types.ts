import type {
  CheckBase,
  CheckKind,
  NoDataPolicy,
  Plan,
  PrometheusTemplate,
  VersionCounter
} from '../plan/types.js'

export type Verdict = 'pass' | 'fail' | 'nodata'

/** One evaluation of one check. */
export interface Evaluation {
  check: string
  kind: CheckKind
  /** ISO time of the evaluation. */
  at: string
  /** Measured value (null when there was none). */
  value: number | null
  /** Human-readable threshold, e.g. ">= 0.99", "status in [200]". */
  threshold: string
  verdict: Verdict
  /** One line: what was seen; for failures, why (including the source's own error text). */
  message: string
  /** Extra numbers worth reporting (compare: u, p, effectSize, canarySamples, stableSamples). */
  details?: Record<string, number>
  /**
   * A failure that does not wait for `failureLimit`: a sequential test's rejection, whose false-alarm rate
   * already accounts for every evaluation of the stage.
   */
  decisive?: boolean
  /** A sequential check's evidence, for reports. */
  evidence?: SequentialEvidence
}

/** Where the evidence stands against the tolerance. */
export interface SequentialBounds {
  /**
   * Anytime-valid confidence bounds on the ratio (0 and Infinity when the data do not bound it yet). Each
   * bound alone holds at every evaluation of the stage with probability at least 1 - alpha (1 - alpha/2 for
   * `either`), so the test rejects exactly when a bound leaves the accepted range. NaN with the option
   * `verdictOnly`.
   */
  lower: number
  upper: number
  /** The ratios the tolerance accepts: [0, 1 + tolerance] for `increase`, and so on. */
  acceptedMin: number
  acceptedMax: number
  /** Log of the e-value against the accepted range: the evidence that the canary is worse. */
  logEValue: number
  /** The test rejects when logEValue reaches this: log(1/alpha), log(2/alpha) for `either`. */
  logThreshold: number
}

/**
 * What a sequential check weighed at one evaluation. Ratios are canary / stable; an unbounded end is
 * Infinity (null once written as JSON).
 */
export interface SequentialEvidence extends SequentialBounds {
  /** What the ratio compares: failure rates, shares of slow requests, or a quantile of the samples. */
  measure: 'failure-rate' | 'slow-share' | 'quantile'
  /** slow-share: the `slowerThan` bound in ms; quantile: which quantile (0.5: the median). */
  slowerThanMs?: number
  quantile?: number
  /** The ratio's estimate; null when nothing estimates it yet (no failed request on either version). */
  estimate: number | null
  alpha: number
  /** Requests (templates) or samples (query) of each version since the stage started. */
  canarySamples: number
  stableSamples: number
  /** Templates: the failed (or slow) requests among them. */
  canaryEvents?: number
  stableEvents?: number
  /** Evaluation intervals of the stage the evidence covers. */
  intervals: number
}

/** Health of the canary Deployments, read by the engine's Kubernetes module for the `kubernetes` check. */
export interface CanaryPodsHealth {
  deployments: { name: string; available: boolean; reason?: string }[]
  /** Highest container restart count among the canary pods. */
  maxRestarts: number
}

/** What a check may need from the outside world; injected so checks stay testable. */
export interface CheckEnvironment {
  plan: Plan
  /** Release revision being watched. */
  revision: string
  /** When the stage was applied: compare checks use [stageStartedAt, now] as their window, sequential checks
   * their grid of intervals. */
  stageStartedAt: Date
  now: () => Date
  readCanaryPods: () => Promise<CanaryPodsHealth>
  /** The router's PromQL for a built-in template (its telemetry), placeholders still in it. */
  metricTemplate: (template: PrometheusTemplate, window: string) => string
  /** The router's selector of a version's raw request counter (its telemetry), for the plan's version `version`. */
  versionCounter: (counter: VersionCounter, version: string) => string
  /** Environment variables (for credentials named in the plan). */
  env: NodeJS.ProcessEnv
  signal?: AbortSignal
}

/** A check kind's settings as the plan reader gives them. */
export type { CheckBase }

/** The watch's progress, one event per evaluation: the action logs it as a line, the CLI draws it. */
export interface ProgressEvent {
  evaluation: Evaluation
  /** Time into the watch of this round, and the watch's length. */
  offsetMs: number
  durationMs: number
  /** The evaluation counts towards failureLimit (a failure, or no data with onNoData: fail). */
  countsAsFailure: boolean
  consecutiveFailures: number
  failureLimit: number
}

export type WatchOutcome =
  | { result: 'passed'; evaluations: Evaluation[] }
  | { result: 'failed'; evaluations: Evaluation[]; failing: Evaluation }
  /** The bake ended with no failure, but these checks' last evaluation had no data (onNoData: inconclusive). */
  | { result: 'inconclusive'; evaluations: Evaluation[]; noData: Evaluation[] }
  | { result: 'cancelled'; evaluations: Evaluation[] }
  /** `stillCurrent` said the stage is no longer the one being watched. */
  | { result: 'superseded'; evaluations: Evaluation[] }

export interface WatchOptions {
  env: CheckEnvironment
  /** How long to watch. */
  durationMs: number
  intervalMs: number
  failureLimit: number
  onNoData: NoDataPolicy
  /** Aborting ends the watch promptly with result 'cancelled'. */
  signal: AbortSignal
  onProgress: (event: ProgressEvent) => void
  /** Asked before each round: false ends the watch (someone rolled back or moved the release meanwhile). */
  stillCurrent?: () => Promise<boolean>
}
