/**
 * The validated plan: every default filled in, every duration in milliseconds. Produced by `parsePlan`;
 * everything downstream trusts it. Kind-specific shapes (a check's settings, a router's options) are declared
 * beside the code of their kind; this file holds what every kind shares.
 */

/** The routing APIs; `routers/registry.ts` must give each one every hook (the compiler checks it). */
export type RouterKind = 'VirtualService' | 'RouteRule' | 'HTTPRoute'

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

export interface MirrorStage extends StageBase {
  kind: 'mirror'
  /** Percent of the shifted routes' requests copied to the canary, 1..100. */
  percent: number
  /** Copy only requests with these methods (uppercase); undefined: every request. */
  methods?: string[]
}

export interface FinalizeStage extends StageBase {
  kind: 'finalize'
  deleteStable: boolean
}

export type Stage = MatchStage | WeightStage | MirrorStage | FinalizeStage
export type StageKind = Stage['kind']

/** Built-in queries of the canary alone; each router writes them for its own telemetry (`metricTemplate`). */
export type PrometheusTemplate = 'success-rate' | 'latency-p99'

/**
 * A request counter of one version, as sequential checks read it (`versionCounter`): every request, the
 * failed ones (5xx), and the latency histogram's count and one of its buckets (requests that took at most
 * `upperBoundMs`). Each router selects them in its own telemetry.
 */
export type VersionCounter =
  | { counter: 'requests' }
  | { counter: 'failed-requests' }
  | { counter: 'latency-count' }
  | { counter: 'latency-bucket'; upperBoundMs: number }

/** The check kinds; `analysis/checks/registry.ts` must define each one (the compiler checks it). */
export type CheckKind = 'prometheus' | 'http' | 'kubernetes' | 'compare'

/** What a check with no data (no samples, NaN, too few samples) counts as. */
export type NoDataPolicy = 'fail' | 'ignore' | 'inconclusive'

/** What every check has; each kind adds its own settings (see its file under analysis/checks/). */
export interface CheckBase {
  kind: CheckKind
  name: string
  /** Per-check override of analysis.onNoData. */
  onNoData?: NoDataPolicy
}

export interface Analysis {
  intervalMs: number
  bakeMs: number
  failureLimit: number
  onNoData: NoDataPolicy
  onCancel: 'rollback' | 'keep'
  /** How long `verify` watches; default three intervals. */
  verifyWindowMs: number
  checks: CheckBase[]
}

export interface Deploy {
  /** Paths relative to GITHUB_WORKSPACE. */
  manifests: string[]
  timeoutMs: number
}

/** One routing object of the release. */
export interface RoutingObject {
  name: string
  namespace: string
  /** The one route (VirtualService http route, HTTPRoute rule) to shift, by name; undefined: every route to the service. */
  route?: string
}

export interface Routing {
  /** At least one; the first carries the release state. RouteRule: the base name of its rules. */
  objects: RoutingObject[]
  /** HTTPRoute: version -> backend Service name, for stable and canary. */
  backends?: Record<string, string>
  /** HTTPRoute: how long to wait for the controller to accept each write. */
  acceptTimeoutMs?: number
}

/** The sticky canary: who reached the canary keeps it for the rest of the ramp. */
export interface SessionAffinity {
  cookieName: string
  maxAgeSeconds: number
}

export interface Plan {
  service: string
  namespace: string
  router: RouterKind
  routing: Routing
  stable: string
  canary: string
  versionLabel: string
  deploy?: Deploy
  sessionAffinity?: SessionAffinity
  stages: Stage[]
  analysis: Analysis
}
