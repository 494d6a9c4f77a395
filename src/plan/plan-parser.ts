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
  readDuration,
  readEnum,
  readList,
  readNonEmptyString,
  readString,
  refine
} from './plan-yaml.js'
import { readStageName, STAGE_KINDS, type LadderSoFar } from './stages.js'
import type {
  Deploy,
  Plan,
  RouterKind,
  Routing,
  RoutingObject,
  SessionAffinity,
  Stage,
  StageKind
} from './types.js'
import type { PlanHead, PlanVocabulary, RouterSyntax } from './vocabulary.js'

const PLAN_KEYS = [
  'service',
  'namespace',
  'router',
  'routing',
  'stable',
  'canary',
  'versionLabel',
  'deploy',
  'sessionAffinity',
  'stages',
  'analysis'
]
const ENTRY_KEYS = ['name', 'namespace', 'route', 'kind']
const DEFAULT_DEPLOY_TIMEOUT_MS = 5 * 60_000
const DEFAULT_COOKIE = 'istio-canary'
const DEFAULT_MAX_AGE_SECONDS = 24 * 3600
/** Browsers cap a cookie's lifetime at 400 days. */
const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 3600

const readDnsLabel = refine(readString, dnsLabelProblem)
const readLabelValue = refine(readString, labelValueProblem)

export function parsePlan(yamlText: string, vocabulary: PlanVocabulary): Plan {
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
  const namespace = plan.withDefault('namespace', readDnsLabel, 'default')
  const routers = Object.keys(vocabulary.routers) as RouterKind[]
  const router = plan.withDefault('router', readEnum(routers), 'VirtualService')
  const stable = plan.required('stable', readLabelValue, 'the version serving traffic now, e.g. v1')
  const canary = plan.required('canary', readLabelValue, 'the version being released, e.g. v2')
  if (canary === stable) plan.fail('canary', `must differ from stable ('${stable}'): name the new version`)
  const head: PlanHead = { service, namespace, router, stable, canary }
  const syntax = vocabulary.routers[router]
  for (const [key, why] of Object.entries(syntax.refusedKeys ?? {})) if (plan.has(key)) plan.fail(key, why)
  const routing = readRouting(plan, head, syntax)
  const deploy = plan.has('deploy') ? readDeploy(plan.mapping('deploy', ['manifests', 'timeout'])) : undefined
  const stages = readStages(plan)
  const sessionAffinity = plan.has('sessionAffinity') ? readSessionAffinity(plan, stages) : undefined

  const parsed: Plan = {
    service,
    namespace,
    router,
    routing,
    stable,
    canary,
    versionLabel: plan.withDefault('versionLabel', refine(readString, labelKeyProblem), 'version'),
    ...(deploy !== undefined && { deploy }),
    ...(sessionAffinity !== undefined && { sessionAffinity }),
    stages,
    analysis: readAnalysis(plan, head, vocabulary)
  }
  const [problem] = syntax.problems?.(parsed) ?? []
  if (problem) document.fail(problem.path, problem.problem)
  return parsed
}

/** `routing` is one mapping or a list of them; absent, it names the VirtualService called like the service. */
function readRouting(plan: Mapping, head: PlanHead, syntax: RouterSyntax): Routing {
  if (!Array.isArray(plan.value('routing'))) {
    const routing = plan.mapping('routing', [...ENTRY_KEYS, ...syntax.optionKeys], { allowEmpty: true })
    const object = readRoutingObject(routing, head, syntax, head.service)
    return { objects: [object], ...syntax.readOptions?.(routing, head) }
  }
  const entries = plan.required(
    'routing',
    readList(
      (value, path, document) => Mapping.read(document, path, value, [...ENTRY_KEYS, ...syntax.optionKeys]),
      'must list at least one routing object, e.g. - name: reviews'
    ),
    'the routing objects'
  )
  if (entries.length > 1 && !syntax.severalObjects) {
    entries[1].fail('name', `${head.router} takes one routing object; list only one`)
  }
  const objects = entries.map((entry, index) => {
    if (index > 0) {
      const option = syntax.optionKeys.find(key => entry.has(key))
      if (option)
        entry.fail(option, `belongs on the first routing entry, which holds the release's ${option}`)
    }
    if (!entry.has('name')) entry.fail('name', 'is required: the name of the routing object')
    return readRoutingObject(entry, head, syntax, head.service)
  })
  failOnDuplicateNames(
    plan.document,
    objects.map((object, index) => ({
      name: `${object.namespace}/${object.name}`,
      path: [...plan.at('routing'), index, 'name']
    })),
    'routing object'
  )
  return { objects, ...syntax.readOptions?.(entries[0], head) }
}

function readRoutingObject(
  entry: Mapping,
  head: PlanHead,
  syntax: RouterSyntax,
  defaultName: string
): RoutingObject {
  const kind = entry.optional('kind', readString)
  if (kind !== undefined && kind !== head.router) {
    entry.fail(
      'kind',
      `is '${kind}', but the plan's router is ${head.router}: every routing object of a release is of the plan's router kind`
    )
  }
  const name = entry.withDefault('name', readDnsLabel, defaultName)
  const namespace = entry.withDefault('namespace', readDnsLabel, head.namespace)
  // An empty route means the same as none: shift every route to the service.
  const route = entry.optional('route', readString) || undefined
  if (route !== undefined && syntax.routeRefusal) entry.fail('route', syntax.routeRefusal)
  return { name, namespace, ...(route !== undefined && { route }) }
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

function readStages(plan: Mapping): Stage[] {
  const kinds = Object.keys(STAGE_KINDS) as StageKind[]
  const stageMappings = plan.required(
    'stages',
    readList(
      (value, path, document) => Mapping.read(document, path, value, ['name', 'bake', ...kinds]),
      'must list at least one stage, e.g. - weight: 10'
    ),
    'the list of stages, e.g. - weight: 10'
  )
  const ladder: LadderSoFar = { index: 0, count: stageMappings.length, matchStages: 0 }
  const stages = stageMappings.map((mapping, index): Stage => {
    ladder.index = index
    const bakeMs = mapping.optional('bake', readDuration({ positive: false }))
    const kind = STAGE_KINDS[mapping.exactlyOneOf(kinds)]
    const { defaultName, ...settings } = kind.read(mapping, ladder)
    const name = mapping.withDefault('name', kind.namesObjects ? readDnsLabel : readStageName, defaultName)
    const stage = { ...settings, name, ...(bakeMs !== undefined && { bakeMs }) } as Stage
    if (stage.kind === 'match') ladder.matchStages += 1
    if (stage.kind === 'weight') ladder.previousWeight = stage.weight
    return stage
  })
  failOnDuplicateNames(
    plan.document,
    stages.map((stage, index) => ({ name: stage.name, path: [...plan.at('stages'), index, 'name'] })),
    'stage'
  )
  return stages
}

/** A cookie name is an HTTP token (RFC 6265). */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function readSessionAffinity(plan: Mapping, stages: Stage[]): SessionAffinity {
  const affinity = plan.mapping('sessionAffinity', ['cookieName', 'maxAge'], { allowEmpty: true })
  const cookieName = affinity.withDefault(
    'cookieName',
    refine(readNonEmptyString, name =>
      COOKIE_NAME.test(name)
        ? undefined
        : `'${name}' is not a valid cookie name (letters, digits and !#$%&'*+.^_\`|~-, no spaces, '=' or ';')`
    ),
    DEFAULT_COOKIE
  )
  const maxAgeMs = affinity.optional(
    'maxAge',
    refine(readDuration({ positive: true }), ms =>
      ms % 1000 !== 0
        ? `must be whole seconds (a cookie's Max-Age is in seconds); got ${ms}ms`
        : ms / 1000 > MAX_COOKIE_AGE_SECONDS
          ? 'must be at most 400 days (browsers cap a cookie at that)'
          : undefined
    )
  )
  const ramps = stages.some(stage => stage.kind === 'weight' && stage.weight < 100)
  if (!ramps) {
    plan.fail(
      'sessionAffinity',
      'needs a weight stage below 100: the sticky cookie is set only while traffic is split; add one or remove sessionAffinity'
    )
  }
  return { cookieName, maxAgeSeconds: maxAgeMs === undefined ? DEFAULT_MAX_AGE_SECONDS : maxAgeMs / 1000 }
}
