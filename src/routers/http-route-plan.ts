/**
 * How a plan reads for `router: HTTPRoute`: each version's backend Service, how long to wait for the controller,
 * and what the Gateway API cannot express (a prefix header match, a method-restricted mirror, a version label).
 * Pure; every problem names its field before anything is read from the cluster.
 */
import { labelValueProblem } from '../plan/names.js'
import { readDuration, readRecord, readString, refine, type Mapping } from '../plan/plan-yaml.js'
import type { Plan, Routing } from '../plan/types.js'
import type { PlanHead, PlanProblem, RouterSyntax } from '../plan/vocabulary.js'
import { re2Literal } from './sticky.js'
import { ISTIO_LATENCY_BUCKETS_MS } from './istio-telemetry.js'

export const DEFAULT_ACCEPT_TIMEOUT_MS = 60_000

/** A Service name is a DNS-1035 label. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

function serviceNameProblem(name: string): string | undefined {
  if (name.length <= 63 && SERVICE_NAME.test(name)) return undefined
  return `must be a Service name (lowercase letters, digits and '-', starting with a letter, at most 63 characters); got '${name}'`
}

/** The backend Service of a version: `routing.backends`, else `<service>-<version>`. */
export function backendOf(plan: Pick<Plan, 'service' | 'routing'>, version: string): string {
  return plan.routing.backends?.[version] ?? `${plan.service}-${version}`
}

/** Every Service name a shifted rule may send the service's traffic to: the service and its version backends. */
export function backendNames(plan: Pick<Plan, 'service' | 'routing' | 'stable' | 'canary'>): Set<string> {
  return new Set([
    plan.service,
    ...Object.values(plan.routing.backends ?? {}),
    backendOf(plan, plan.stable),
    backendOf(plan, plan.canary)
  ])
}

function readOptions(routing: Mapping, head: PlanHead): Pick<Routing, 'backends' | 'acceptTimeoutMs'> {
  const given =
    routing.optional(
      'backends',
      readRecord(
        refine(readString, serviceNameProblem),
        labelValueProblem,
        'must map at least one version to its Service, e.g. v2: reviews-v2'
      )
    ) ?? {}
  const backends = { ...given }
  for (const version of [head.stable, head.canary]) {
    if (backends[version] !== undefined) continue
    const name = `${head.service}-${version}`
    if (serviceNameProblem(name)) {
      routing.fail(
        'backends',
        `names no Service for version '${version}', and the default '${name}' is not a valid Service name; add ${version}: <the Service that selects ${version}'s pods>`
      )
    }
    backends[version] = name
  }
  for (const [version, name] of Object.entries(backends)) {
    if (name === head.service) {
      routing.fail(
        'backends',
        `sends version '${version}' to '${name}', the service's own Service, which selects every version's pods; name a Service that selects only ${version}'s pods, e.g. ${head.service}-${version}`
      )
    }
  }
  if (backends[head.stable] === backends[head.canary]) {
    routing.fail(
      'backends',
      `names the same Service '${backends[head.stable]}' for ${head.stable} and ${head.canary}; each version needs a Service that selects only its own pods`
    )
  }
  const acceptTimeoutMs = routing.withDefault(
    'acceptTimeout',
    readDuration({ positive: true }),
    DEFAULT_ACCEPT_TIMEOUT_MS
  )
  return { backends, acceptTimeoutMs }
}

function planProblems(plan: Plan): PlanProblem[] {
  const problems: PlanProblem[] = []
  plan.stages.forEach((stage, index) => {
    if (stage.kind === 'match') {
      for (const [header, match] of Object.entries(stage.headers)) {
        if (!('prefix' in match)) continue
        problems.push({
          path: ['stages', index, 'match', 'headers', header, 'prefix'],
          problem: `has no Gateway API equivalent (an HTTPRoute header match is Exact or RegularExpression); write regex: '${re2Literal(match.prefix)}.*' for the same requests`
        })
      }
    }
    if (stage.kind === 'mirror' && stage.methods) {
      problems.push({
        path: ['stages', index, 'mirror', 'methods'],
        problem:
          "cannot be expressed with HTTPRoute: a rule that matches a method outranks the match stages' rules (Gateway API precedence), so it would take their requests; write mirror: <percent> to copy every request, or use router: VirtualService"
      })
    }
  })
  return problems
}

export const HTTP_ROUTE_SYNTAX: RouterSyntax = {
  optionKeys: ['backends', 'acceptTimeout'],
  severalObjects: true,
  refusedKeys: {
    versionLabel:
      'means nothing with router: HTTPRoute: versions are Services, and each backend Service (routing.backends) selects its pods; remove versionLabel'
  },
  readOptions,
  problems: planProblems,
  // Sidecars and waypoints both report telemetry v2's latency histogram.
  latencyBucketsMs: ISTIO_LATENCY_BUCKETS_MS['telemetry-v2']
}
