/**
 * HTTPRoute router (gateway.networking.k8s.io): Istio ambient waypoints, GAMMA mesh routes (a Service parent) and
 * Gateway ingress routes. Versions are Services. Each shifted rule's backendRefs to the service or its version
 * backends become one on the stable backend, which stages split with explicit weights; match and sticky stages
 * insert rules `<rule>-<suffix>` that win by Gateway API precedence (more header matches), not by position. Every
 * other rule, field and parentRef is left exactly as it is.
 */
import { clone, type JsonObject } from '../common/json.js'
import type { KubeClient, Labels, ResourceType } from '../kube/kube-client.js'
import { stageEffect } from '../plan/stages.js'
import type { Plan } from '../plan/types.js'
import { awaitRoutesAccepted } from './gateway-status.js'
import { backendNames, backendOf, DEFAULT_ACCEPT_TIMEOUT_MS, HTTP_ROUTE_SYNTAX } from './http-route-plan.js'
import {
  isServiceRef,
  listOf,
  ours,
  refsOf,
  RULES,
  splitWeights,
  stableRef,
  weightOf,
  type BackendRef,
  type Rule
} from './http-route-rules.js'
import { backendServiceCounter, backendServiceTemplate } from './istio-telemetry.js'
import {
  insertedNameClashes,
  insertedNames,
  listedObjects,
  shiftedIndexes,
  routeListHooks
} from './route-list.js'
import { type ManagedObject, type RouterDefinition, type RoutingSpecs } from './router.js'

export const HTTP_ROUTE: ResourceType = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  kind: 'HTTPRoute',
  fallbackVersions: ['v1beta1']
}

/** The Gateway API's limits on one HTTPRoute (standard channel, v1.2). */
export const MAX_RULES = 16
const MAX_MATCHES = 128
const MAX_HEADER_MATCHES = 16
const MAX_WEIGHT = 1_000_000

/** Collapses the backendRefs of the service into one on the stable backend, keeping their total weight. */
function pinRefs(rule: Rule, plan: Plan, where: string): BackendRef[] {
  const all = refsOf(rule)
  const service = ours(rule, plan, where)
  const stableName = backendOf(plan, plan.stable)
  if (service.length === 1 && service[0].name === stableName) return all
  const existing = stableRef(rule, plan, where)
  // Keep the existing stable backendRef's own fields (port, filters); only without one derive it from the first.
  const kept = existing ?? service[0]
  const pinned: BackendRef = { ...clone(kept), name: stableName }
  if (kept !== existing) delete pinned.filters
  pinned.weight = all.length > service.length ? service.reduce((sum, ref) => sum + weightOf(ref), 0) : 100
  const first = service[0]
  return all.flatMap(ref => (ref === first ? [pinned] : service.includes(ref) ? [] : [ref]))
}

function label(object: ManagedObject): string {
  return `HTTPRoute ${object.key}`
}

function pinObject(spec: JsonObject, object: ManagedObject, plan: Plan): JsonObject {
  const pinned = clone(spec)
  const shifted = new Set(shiftedIndexes(RULES, pinned, object, plan))
  return RULES.withRoutes(
    pinned,
    RULES.routes(pinned).map((rule, index) =>
      shifted.has(index) ? { ...rule, backendRefs: pinRefs(rule, plan, object.namespace) } : rule
    )
  )
}

function headerNames(rule: Rule): string[][] {
  const blocks = listOf(rule.matches).length ? listOf(rule.matches) : [{}]
  return blocks.map(block => listOf(block.headers).map(header => String(header.name).toLowerCase()))
}

function validateObject(spec: JsonObject | null, object: ManagedObject, plan: Plan): string[] {
  const where = label(object)
  if (!spec)
    return [`${where} not found; create it, or set routing.name to the HTTPRoute that routes ${plan.service}`]
  if (listOf(spec.parentRefs).length === 0) {
    return [
      `${where} has no parentRefs, so it routes nothing; attach it to the Service (mesh) or a Gateway (ingress)`
    ]
  }
  const rules = RULES.routes(spec)
  const shifted = shiftedIndexes(RULES, spec, object, plan)
  const backends = [...backendNames(plan)].join(', ')
  if (object.route && shifted.length === 0) {
    const names = rules.map(rule => rule.name).filter(name => typeof name === 'string')
    return [
      `${where}: no rule named '${object.route}' (rules: ${names.join(', ') || 'none named'}); fix routing.route`
    ]
  }
  if (shifted.length === 0) {
    return [
      `${where}: no rule has a backendRef to the Services ${backends} in namespace ${plan.namespace}; add one, or name the rule in routing.route`
    ]
  }
  const problems: string[] = []
  const taken = new Set(rules.map(rule => rule.name))
  const matchStages = plan.stages.filter(stage => stage.kind === 'match')
  for (const index of shifted) {
    const rule = rules[index]
    const at = `${where}: spec.rules[${index}]`
    if (ours(rule, plan, object.namespace).length === 0) {
      problems.push(`${at} sends no traffic to the Services ${backends}; name another rule`)
    }
    if (plan.stages.some(stage => stage.kind === 'mirror')) {
      if (listOf(rule.filters).some(filter => filter.type === 'RequestMirror')) {
        problems.push(
          `${at} already has a RequestMirror filter; remove it or the plan's mirror stage (one mirror per rule)`
        )
      }
    }
    problems.push(
      ...insertedNameClashes(rule, index, shifted.length, plan, taken, where, {
        existing: 'a rule',
        inserted: 'rule'
      })
    )
    // One match cannot require two values of a header: the Gateway API reads only its first match on a name.
    const own = headerNames(rule)
    for (const stage of matchStages) {
      const overlap = own.flat().find(name => name in stage.headers)
      if (overlap) {
        problems.push(
          `${at} already matches header '${overlap}', which stage '${stage.name}' also matches; one rule cannot require both, so match another header in the stage`
        )
      }
    }
    if (plan.sessionAffinity && own.flat().includes('cookie')) {
      problems.push(
        `${at} already matches the cookie header, which the sticky rule of sessionAffinity needs; remove sessionAffinity or the rule's cookie match`
      )
    }
    const most = Math.max(...own.map(names => names.length))
    const added = Math.max(0, ...matchStages.map(stage => Object.keys(stage.headers).length))
    if (most + added > MAX_HEADER_MATCHES) {
      problems.push(
        `${at}: a match with ${most} header matches plus a stage's ${added} exceeds the ${MAX_HEADER_MATCHES} the Gateway API allows; match fewer headers`
      )
    }
  }
  problems.push(...sizeProblems(rules, shifted, where, plan))
  return problems
}

/** The rules and matches the inserted rules add must fit the Gateway API's limits on one HTTPRoute. */
function sizeProblems(rules: Rule[], shifted: number[], where: string, plan: Plan): string[] {
  const perRule = plan.stages.filter(stage => stage.kind === 'match').length + (plan.sessionAffinity ? 1 : 0)
  const count = rules.length + shifted.length * perRule
  const problems: string[] = []
  if (count > MAX_RULES) {
    problems.push(
      `${where} has ${rules.length} rules, and the plan inserts ${perRule} before each of its ${shifted.length} shifted rule(s): ${count} rules, more than the ${MAX_RULES} the Gateway API allows in one HTTPRoute; use fewer match stages, name one rule in routing.route, or move other rules to another HTTPRoute`
    )
  }
  const matchesOf = (rule: Rule) => Math.max(1, listOf(rule.matches).length)
  const matches =
    rules.reduce((sum, rule) => sum + matchesOf(rule), 0) +
    shifted.reduce((sum, index) => sum + matchesOf(rules[index]) * perRule, 0)
  if (matches > MAX_MATCHES) {
    problems.push(
      `${where}: the inserted rules bring its matches to ${matches}, more than the ${MAX_MATCHES} the Gateway API allows in one HTTPRoute; use fewer match stages or fewer matches`
    )
  }
  return problems
}

/** Shifted rules of the target with their stable backendRef, for the weight checks. */
function stableShares(target: RoutingSpecs, plan: Plan) {
  return listedObjects(plan).flatMap(object => {
    const rules = RULES.routes(target[object.key])
    return shiftedIndexes(RULES, target[object.key], object, plan).flatMap(index => {
      const stable = stableRef(rules[index], plan, object.namespace)
      return stable ? [{ where: `${label(object)} spec.rules[${index}]`, rule: rules[index], stable }] : []
    })
  })
}

function splitProblems(target: RoutingSpecs, plan: Plan): string[] {
  const weights = plan.stages.flatMap(stage => (stage.kind === 'weight' ? [stage.weight] : []))
  return stableShares(target, plan).flatMap(({ where, rule, stable }) => {
    if (weights.length > 0 && weightOf(stable) === 0) {
      return [
        `${where}: the stable backendRef has weight 0, so it carries no traffic for a weight stage to move; give it a weight`
      ]
    }
    const factors = weights.map(weight => splitWeights(rule, stable, weight).factor)
    const largest = Math.max(0, ...factors.map(factor => factor * Math.max(...refsOf(rule).map(weightOf))))
    return largest > MAX_WEIGHT
      ? [
          `${where}: splitting exactly would need weights up to ${largest}, above the Gateway API's ${MAX_WEIGHT}; lower the rule's backendRef weights`
        ]
      : []
  })
}

async function readVersionSelectors(kube: KubeClient, plan: Plan) {
  const services = await kube.listServices(plan.namespace)
  const selectorOf = (version: string, role: string): Labels => {
    const name = backendOf(plan, version)
    const service = services.find(item => item.metadata?.name === name)
    const field =
      plan.routing.backends && version in plan.routing.backends
        ? `routing.backends.${version}`
        : 'routing.backends'
    if (!service) {
      throw new Error(
        `preconditions: the ${role} version's backend Service ${plan.namespace}/${name} not found; create it with a selector for ${version}'s pods (e.g. app: ${plan.service}, version: ${version}), or name its Service in ${field}`
      )
    }
    const selector = service.spec?.selector ?? {}
    if (Object.keys(selector).length === 0) {
      throw new Error(
        `preconditions: the backend Service ${plan.namespace}/${name} (${role}, ${version}) has no selector, so the action cannot tell which pods are ${version}; give it a selector for ${version}'s pods`
      )
    }
    return selector
  }
  return { stable: selectorOf(plan.stable, 'stable'), canary: selectorOf(plan.canary, 'canary') }
}

export const httpRouteRouter: RouterDefinition = {
  kind: 'HTTPRoute',
  resource: HTTP_ROUTE,
  syntax: HTTP_ROUTE_SYNTAX,
  rbac: [
    { apiGroup: 'gateway.networking.k8s.io', resource: 'httproutes', verbs: ['get', 'update'] },
    { apiGroup: '', resource: 'services', verbs: ['list'] }
  ],
  schemaHint:
    'HTTPRoute rule names and RequestMirror percent need the Gateway API v1.2 (standard channel) CRDs or later; upgrade them',
  ...routeListHooks(RULES, { validate: validateObject, pin: pinObject }),
  // Weights are always split exactly (see splitWeights).
  appliedWeight: (_target, plan, stageIndex) => stageEffect(plan, stageIndex).weight,
  splitProblems,
  stableRoutedElsewhere(specs, plan) {
    const stable = backendOf(plan, plan.stable)
    return listedObjects(plan).flatMap(object => {
      const spec = specs[object.key]
      const managed = new Set(
        shiftedIndexes(RULES, spec, object, plan, insertedNames(RULES, spec, object, plan))
      )
      return RULES.routes(spec).flatMap((rule, index) =>
        !managed.has(index) &&
        refsOf(rule).some(ref => isServiceRef(ref, plan, object.namespace) && ref.name === stable)
          ? [`${label(object)} spec.rules[${index}]`]
          : []
      )
    })
  },
  readVersionSelectors,
  metricTemplate: (template, window, plan) =>
    backendServiceTemplate(template, window, backendOf(plan, plan.canary)),
  versionCounter: (counter, version, plan) => backendServiceCounter(counter, backendOf(plan, version)),
  awaitAccepted: (kube, written, plan, signal) =>
    awaitRoutesAccepted(
      kube,
      HTTP_ROUTE,
      written,
      plan.routing.acceptTimeoutMs ?? DEFAULT_ACCEPT_TIMEOUT_MS,
      signal
    )
}
