/**
 * The validated plan: every default filled in, every duration in milliseconds.
 * Produced by `parsePlan` (plan-parser.ts); everything downstream trusts it.
 */

export type RouterKind = 'VirtualService' | 'RouteRule'

/** One of exact | prefix | regex, as Istio's StringMatch (regex is RE2, full match). */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string }

interface StageBase {
  /** Unique within the plan. */
  name: string
  /** Per-stage override of analysis.bakeMs. */
  bakeMs?: number
}

export interface MatchStage extends StageBase {
  kind: 'match'
  /** Lowercase header name -> match. */
  headers: Record<string, StringMatch>
}

export interface WeightStage extends StageBase {
  kind: 'weight'
  /** Percent of unmatched traffic on the canary, 1..100, strictly increasing across the plan. */
  weight: number
}

export interface FinalizeStage extends StageBase {
  kind: 'finalize'
  deleteStable: boolean
}

export type Stage = MatchStage | WeightStage | FinalizeStage

/** Where a Prometheus server is and how to authenticate; credentials are read from the named env vars. */
export interface PrometheusSource {
  url: string
  /** Name of an environment variable holding a bearer token. */
  bearerTokenEnv?: string
  /** Names of environment variables holding basic-auth credentials. */
  usernameEnv?: string
  passwordEnv?: string
}

export type PrometheusTemplate = 'success-rate' | 'latency-p99'

export interface PrometheusCheck {
  kind: 'prometheus'
  name: string
  prometheus: PrometheusSource
  /** Exactly one of query / template is set. */
  query?: string
  template?: PrometheusTemplate
  min?: number
  max?: number
}

export interface HttpCheck {
  kind: 'http'
  name: string
  url: string
  method: string
  headers: Record<string, string>
  /** Header name -> name of an environment variable holding its value (for secrets such as authorization). */
  headersFromEnv?: Record<string, string>
  expectStatus: number[]
  /** RE2, partial match. */
  expectBody?: string
  timeoutMs: number
}

export interface KubernetesCheck {
  kind: 'kubernetes'
  name: string
  maxRestarts: number
}

export type CompareDirection = 'increase' | 'decrease' | 'either'

export interface CompareCheck {
  kind: 'compare'
  name: string
  prometheus: PrometheusSource
  /** PromQL with $version, run as a range query once per version. */
  query: string
  direction: CompareDirection
  tolerance: number
  confidence: number
}

export type Check = PrometheusCheck | HttpCheck | KubernetesCheck | CompareCheck

export interface Analysis {
  intervalMs: number
  bakeMs: number
  failureLimit: number
  onNoData: 'fail' | 'ignore'
  onCancel: 'rollback' | 'keep'
  /** How long `verify` watches; default three intervals. */
  verifyWindowMs: number
  checks: Check[]
}

export interface Deploy {
  /** Paths relative to GITHUB_WORKSPACE. */
  manifests: string[]
  timeoutMs: number
}

export interface Plan {
  service: string
  namespace: string
  router: RouterKind
  routing: {
    /** VirtualService name, or RouteRule base name. */
    name: string
    /** VirtualService: name of the one http route to shift; undefined = every route to the service. */
    route?: string
  }
  stable: string
  canary: string
  versionLabel: string
  deploy?: Deploy
  stages: Stage[]
  analysis: Analysis
}
