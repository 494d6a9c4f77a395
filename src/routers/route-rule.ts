/**
 * RouteRule router (config.istio.io/v1alpha2, Istio 0.2-0.7), reproducing the Istio 0.2 canary tutorial:
 * `<name>-default` at precedence 1 splits by version label, and each match stage is its own rule
 * `<name>-<stage>` at precedence 2, 3, ... sending matching requests to the canary. Every rule is the release's
 * own, so each is managed whole.
 */
import { clone, type Json, type JsonObject } from '../common/json.js'
import type { KubeClient, ResourceType } from '../kube/kube-client.js'
import { stageEffect } from '../plan/stages.js'
import type { Plan } from '../plan/types.js'
import type { PlanProblem } from '../plan/vocabulary.js'
import { ISTIO_LATENCY_BUCKETS_MS, istioMetricTemplate, istioVersionCounter } from './istio-telemetry.js'
import { objectKey, type ManagedObject, type RouterDefinition, type RoutingSpecs } from './router.js'

export const ROUTE_RULE: ResourceType = {
  group: 'config.istio.io',
  version: 'v1alpha2',
  plural: 'routerules',
  kind: 'RouteRule'
}

const MAX_NAME_LENGTH = 63
/** The rule that carries the weights is `<routing name>-default`. */
const DEFAULT_SUFFIX = 'default'

function baseName(plan: Plan): string {
  return plan.routing.objects[0].name
}

function rule(plan: Plan, suffix: string): ManagedObject {
  const name = `${baseName(plan)}-${suffix}`
  const { namespace } = plan.routing.objects[0]
  return { name, namespace, key: objectKey({ name, namespace }), createdByRelease: true }
}

function matchStages(plan: Plan) {
  return plan.stages.filter(stage => stage.kind === 'match')
}

function defaultRule(plan: Plan): ManagedObject {
  return rule(plan, DEFAULT_SUFFIX)
}

function objectsOf(plan: Plan): ManagedObject[] {
  return [defaultRule(plan), ...matchStages(plan).map(stage => rule(plan, stage.name))]
}

function versionRoute(plan: Plan, version: string): JsonObject {
  return { labels: { [plan.versionLabel]: version } }
}

function defaultPrecedence(spec: JsonObject): number {
  return typeof spec.precedence === 'number' ? spec.precedence : 0
}

/** True when every route entry that carries traffic goes to the stable version. */
function allOnStable(spec: JsonObject, plan: Plan): boolean {
  const routes = Array.isArray(spec.route) ? (spec.route as JsonObject[]) : []
  return (
    routes.length > 0 &&
    routes.every(
      r =>
        r.weight === 0 ||
        (r.labels as Record<string, string> | undefined)?.[plan.versionLabel] === plan.stable
    )
  )
}

function stageSpecs(target: RoutingSpecs, plan: Plan, stageIndex: number): RoutingSpecs {
  const effect = stageEffect(plan, stageIndex)
  const pinned = target[defaultRule(plan).key] as JsonObject
  const route =
    effect.weight === 0
      ? pinned.route
      : effect.weight === 100
        ? [{ ...versionRoute(plan, plan.canary), weight: 100 }]
        : [
            { ...versionRoute(plan, plan.stable), weight: 100 - effect.weight },
            { ...versionRoute(plan, plan.canary), weight: effect.weight }
          ]
  const withRoute: JsonObject = { ...clone(pinned), route: clone(route) }
  // RouteRule mirrors every request of the rule: the plan's problems allow only `mirror: 100`.
  if (effect.mirror) withRoute.mirror = { name: plan.service, ...versionRoute(plan, plan.canary) }
  const specs: RoutingSpecs = { [defaultRule(plan).key]: withRoute }
  matchStages(plan).forEach((stage, order) => {
    specs[rule(plan, stage.name).key] = effect.matchStages.includes(stage)
      ? {
          destination: { name: plan.service },
          // Above the default rule, later match stages higher still (2, 3, ... for a default at 1).
          precedence: defaultPrecedence(pinned) + 1 + order,
          match: { request: { headers: clone(stage.headers) } },
          route: [versionRoute(plan, plan.canary)]
        }
      : null
  })
  return specs
}

function planProblems(plan: Plan): PlanProblem[] {
  const problems: PlanProblem[] = []
  const longest = `${baseName(plan)}-${DEFAULT_SUFFIX}`
  if (longest.length > MAX_NAME_LENGTH) {
    problems.push({
      path: ['routing', 'name'],
      problem: `is too long for RouteRule: '${longest}' exceeds ${MAX_NAME_LENGTH} characters; set a shorter routing.name`
    })
  }
  plan.stages.forEach((stage, index) => {
    const path = ['stages', index, stage.kind]
    if (stage.kind === 'match') {
      const ruleName = `${baseName(plan)}-${stage.name}`
      const problem =
        stage.name === DEFAULT_SUFFIX
          ? `'${stage.name}' is taken by the RouteRule '${ruleName}' that carries the weights; choose another name`
          : ruleName.length > MAX_NAME_LENGTH
            ? `makes the RouteRule name '${ruleName}' longer than ${MAX_NAME_LENGTH} characters; choose a shorter name`
            : undefined
      if (problem) problems.push({ path: ['stages', index, 'name'], problem })
    }
    if (stage.kind === 'mirror' && (stage.percent !== 100 || stage.methods)) {
      problems.push({
        path,
        problem:
          'RouteRule mirrors every request of its rule: write mirror: 100, or use router: VirtualService to mirror a share or only some methods'
      })
    }
  })
  if (plan.sessionAffinity) {
    problems.push({
      path: ['sessionAffinity'],
      problem: 'RouteRule cannot set a response cookie; remove sessionAffinity or use router: VirtualService'
    })
  }
  return problems
}

export const routeRuleRouter: RouterDefinition = {
  kind: 'RouteRule',
  resource: ROUTE_RULE,
  syntax: {
    latencyBucketsMs: ISTIO_LATENCY_BUCKETS_MS['mixer'],
    optionKeys: [],
    severalObjects: false,
    routeRefusal: 'RouteRule has no named routes; remove routing.route or use router: VirtualService',
    problems: planProblems
  },
  rbac: [
    {
      apiGroup: 'config.istio.io',
      resource: 'routerules',
      verbs: ['get', 'list', 'create', 'update', 'delete']
    }
  ],
  objects: objectsOf,
  validate(current, plan) {
    return matchStages(plan)
      .map(stage => rule(plan, stage.name))
      .filter(object => current[object.key])
      .map(
        object =>
          `RouteRule ${object.key} already exists and is not part of this release; delete it or rename the stage`
      )
  },
  pin(current, plan) {
    const existing = current[defaultRule(plan).key]
    const pinned: JsonObject = existing
      ? allOnStable(existing, plan)
        ? clone(existing)
        : { ...clone(existing), route: [versionRoute(plan, plan.stable)] }
      : { destination: { name: plan.service }, precedence: 1, route: [versionRoute(plan, plan.stable)] }
    const specs: RoutingSpecs = { [defaultRule(plan).key]: pinned }
    for (const stage of matchStages(plan)) specs[rule(plan, stage.name).key] = null
    return specs
  },
  stage: (_current, target, plan, stageIndex) => stageSpecs(target, plan, stageIndex),
  restore: (_current, target) => ({ specs: clone(target), reverted: [] }),
  parts: (specs, _target, plan) =>
    Object.fromEntries(
      objectsOf(plan).map(object => [
        object.key,
        { managed: (specs[object.key] ?? null) as Json, rest: null }
      ])
    ),
  appliedWeight: (_target, plan, stageIndex) => stageEffect(plan, stageIndex).weight,
  // The weights are written as percentages of the whole rule: every stage moves traffic.
  splitProblems: () => [],
  stableRoutedElsewhere: () => [],
  async readVersionSelectors(_kube: KubeClient, plan: Plan) {
    return {
      stable: { app: plan.service, [plan.versionLabel]: plan.stable },
      canary: { app: plan.service, [plan.versionLabel]: plan.canary }
    }
  },
  metricTemplate: (template, window) => istioMetricTemplate('mixer', template, window),
  versionCounter: (counter, version) => istioVersionCounter('mixer', counter, version)
}
