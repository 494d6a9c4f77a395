import type { Check, Plan } from '../plan/types.js'

export type Verdict = 'pass' | 'fail' | 'nodata'

/** One evaluation of one check. */
export interface Evaluation {
  check: string
  kind: Check['kind']
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
  /** When the stage was applied: compare checks use [stageStartedAt, now] as their window. */
  stageStartedAt: Date
  now: () => Date
  readCanaryPods: () => Promise<CanaryPodsHealth>
  /** Environment variables (for credentials named in the plan). */
  env: NodeJS.ProcessEnv
  signal?: AbortSignal
}

export type WatchOutcome =
  | { result: 'passed'; evaluations: Evaluation[] }
  | { result: 'failed'; evaluations: Evaluation[]; failing: Evaluation }
  | { result: 'cancelled'; evaluations: Evaluation[] }

export interface WatchOptions {
  env: CheckEnvironment
  /** How long to watch. */
  durationMs: number
  intervalMs: number
  failureLimit: number
  onNoData: 'fail' | 'ignore'
  /** Aborting ends the watch promptly with result 'cancelled'. */
  signal: AbortSignal
  /** Called with each progress line, e.g. "[1m30s/5m] success-rate 0.997 >= 0.99 ok". */
  log: (line: string) => void
}
