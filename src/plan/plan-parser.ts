/** Turns plan YAML into a validated `Plan` with every default filled in. Pure: no I/O. */
import { posix, win32 } from 'node:path'
import { readAnalysis } from './analysis-parser.js'
import { dnsLabelProblem, labelKeyProblem, labelValueProblem } from './names.js'
import { PlanError } from './plan-error.js'
import {
  describeType,
  failOnDuplicateNames,
  Mapping,
  PlanDocument,
  readBoolean,
  readDuration,
  readEnum,
  readInteger,
  readList,
  readNonEmptyString,
  readRecord,
  readString,
  refine,
  type Reader
} from './plan-yaml.js'
import { re2Problem } from './re2.js'
import type { Deploy, Plan, RouterKind, Stage, StringMatch } from './types.js'

const PLAN_KEYS = [
  'service',
  'namespace',
  'router',
  'routing',
  'stable',
  'canary',
  'versionLabel',
  'deploy',
  'stages',
  'analysis'
]
const ROUTERS: readonly RouterKind[] = ['VirtualService', 'RouteRule']
const STAGE_KINDS = ['match', 'weight', 'finalize'] as const
const STRING_MATCH_KINDS = ['exact', 'prefix', 'regex'] as const
const MAX_NAME_LENGTH = 63
/** The RouteRule that carries the weights is `<routing.name>-default`. */
const ROUTE_RULE_DEFAULT_SUFFIX = 'default'

const DEFAULT_DEPLOY_TIMEOUT_MS = 5 * 60_000

const readDnsLabel = refine(readString, dnsLabelProblem)
const readLabelValue = refine(readString, labelValueProblem)

export function parsePlan(yamlText: string): Plan {
  const document = PlanDocument.parse(yamlText)
  const root = document.value
  if (root === null || root === undefined) {
    throw new PlanError('', 'the plan is empty; it needs at least service, stable, canary and stages')
  }
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new PlanError(
      '',
      `the plan must be a YAML mapping (service:, stages:, ...); got ${describeType(root)}`
    )
  }
  const plan = Mapping.read(document, [], root, PLAN_KEYS)

  const service = plan.required('service', readDnsLabel, 'the name of the Kubernetes Service being released')
  const router = plan.withDefault('router', readEnum(ROUTERS), 'VirtualService')
  const routing = readRouting(plan, service, router)
  const stable = plan.required('stable', readLabelValue, 'the version serving traffic now, e.g. v1')
  const canary = plan.required('canary', readLabelValue, 'the version being released, e.g. v2')
  if (canary === stable) plan.fail('canary', `must differ from stable ('${stable}'): name the new version`)
  const deploy = plan.has('deploy') ? readDeploy(plan.mapping('deploy', ['manifests', 'timeout'])) : undefined

  return {
    service,
    namespace: plan.withDefault('namespace', readDnsLabel, 'default'),
    router,
    routing,
    stable,
    canary,
    versionLabel: plan.withDefault('versionLabel', refine(readString, labelKeyProblem), 'version'),
    ...(deploy !== undefined && { deploy }),
    stages: readStages(plan, router, routing.name),
    analysis: readAnalysis(plan)
  }
}

function readRouting(plan: Mapping, service: string, router: RouterKind): Plan['routing'] {
  const routing = plan.mapping('routing', ['name', 'route'], { allowEmpty: true })
  const name = routing.withDefault('name', readDnsLabel, service)
  // An empty route means the same as none: shift every route to the service.
  const route = routing.optional('route', readString) || undefined
  if (router === 'RouteRule') {
    if (route !== undefined) {
      routing.fail(
        'route',
        'RouteRule has no named routes; remove routing.route or use router: VirtualService'
      )
    }
    const longest = `${name}-${ROUTE_RULE_DEFAULT_SUFFIX}`
    if (longest.length > MAX_NAME_LENGTH) {
      routing.fail(
        'name',
        `is too long for RouteRule: '${longest}' exceeds ${MAX_NAME_LENGTH} characters; set a shorter routing.name`
      )
    }
  }
  return { name, ...(route !== undefined && { route }) }
}

function readDeploy(deploy: Mapping): Deploy {
  return {
    manifests: deploy.required(
      'manifests',
      readList(refine(readNonEmptyString, manifestPathProblem), 'must list at least one manifest file'),
      'the manifest files that create the canary, relative to the workspace'
    ),
    timeoutMs: deploy.withDefault('timeout', readDuration({ positive: true }), DEFAULT_DEPLOY_TIMEOUT_MS)
  }
}

function manifestPathProblem(path: string): string | undefined {
  if (posix.isAbsolute(path) || win32.isAbsolute(path)) {
    return `must be relative to the workspace; got '${path}'`
  }
  const normalized = posix.normalize(path.replaceAll('\\', '/'))
  if (normalized === '..' || normalized.startsWith('../')) {
    return `must stay inside the workspace; got '${path}'`
  }
  return undefined
}

function readStages(plan: Mapping, router: RouterKind, routingName: string): Stage[] {
  const stageMappings = plan.required(
    'stages',
    readList(
      (value, path, document) => Mapping.read(document, path, value, ['name', 'bake', ...STAGE_KINDS]),
      'must list at least one stage, e.g. - weight: 10'
    ),
    'the list of stages, e.g. - weight: 10'
  )
  let matchStageCount = 0
  let previousWeight: number | undefined
  const stages = stageMappings.map((stage, index): Stage => {
    const bakeMs = stage.optional('bake', readDuration({ positive: false }))
    const common = bakeMs === undefined ? {} : { bakeMs }
    switch (stage.exactlyOneOf(STAGE_KINDS)) {
      case 'match': {
        matchStageCount += 1
        const defaultName = matchStageCount === 1 ? 'test-user' : `match-${matchStageCount}`
        const name = stage.withDefault('name', readDnsLabel, defaultName)
        const ruleNameProblem = router === 'RouteRule' ? routeRuleNameProblem(routingName, name) : undefined
        if (ruleNameProblem !== undefined) stage.fail('name', ruleNameProblem)
        return { kind: 'match', name, ...common, headers: readHeaders(stage.mapping('match', ['headers'])) }
      }
      case 'weight': {
        const weight = stage.required('weight', readInteger(1, 100), 'the percent of traffic for the canary')
        if (previousWeight !== undefined && weight <= previousWeight) {
          stage.fail(
            'weight',
            `must be greater than the previous weight stage (${previousWeight}); got ${weight}`
          )
        }
        previousWeight = weight
        const name = stage.withDefault('name', readStageName, `${weight}%`)
        return { kind: 'weight', name, ...common, weight }
      }
      case 'finalize': {
        if (index !== stageMappings.length - 1) {
          stage.fail('finalize', 'must be the last stage; move it to the end of stages')
        }
        const finalize = stage.mapping('finalize', ['deleteStable'], { allowEmpty: true })
        const name = stage.withDefault('name', readStageName, 'finalize')
        return {
          kind: 'finalize',
          name,
          ...common,
          deleteStable: finalize.withDefault('deleteStable', readBoolean, false)
        }
      }
    }
  })
  failOnDuplicateNames(
    plan.document,
    stages.map((stage, index) => ({ name: stage.name, path: [...plan.at('stages'), index, 'name'] })),
    'stage'
  )
  return stages
}

/** Weight and finalize stages may be named like `25%`; match stage names become part of object names. */
const readStageName = refine(readString, name =>
  /^\d{1,3}%$/.test(name) ? undefined : dnsLabelProblem(name)
)

/** RouteRule match stages become rules named `<routing.name>-<stage name>`, next to `<routing.name>-default`. */
function routeRuleNameProblem(routingName: string, stageName: string): string | undefined {
  const ruleName = `${routingName}-${stageName}`
  if (stageName === ROUTE_RULE_DEFAULT_SUFFIX) {
    return `'${stageName}' is taken by the RouteRule '${ruleName}' that carries the weights; choose another name`
  }
  if (ruleName.length > MAX_NAME_LENGTH) {
    return `makes the RouteRule name '${ruleName}' longer than ${MAX_NAME_LENGTH} characters; choose a shorter name`
  }
  return undefined
}

function readHeaders(match: Mapping): Record<string, StringMatch> {
  return match.required(
    'headers',
    readRecord(readStringMatch, matchHeaderNameProblem, 'must name at least one header to match'),
    'the request headers that send a request to the canary, e.g. cookie: { regex: "^(.*;)?(user=test)(;.*)?$" }'
  )
}

function matchHeaderNameProblem(name: string): string | undefined {
  const valid = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/
  if (valid.test(name)) return undefined
  if (valid.test(name.toLowerCase())) {
    return `header names must be lowercase (Istio matches lowercased names); write '${name.toLowerCase()}'`
  }
  return `'${name}' is not a valid HTTP header name`
}

const readStringMatch: Reader<StringMatch> = (value, path, document) => {
  const match = Mapping.read(document, path, value, STRING_MATCH_KINDS)
  const kind = match.exactlyOneOf(STRING_MATCH_KINDS)
  const text = match.required(
    kind,
    kind === 'regex' ? refine(readNonEmptyString, re2Problem) : readNonEmptyString,
    `the ${kind} string`
  )
  return { [kind]: text } as StringMatch
}
