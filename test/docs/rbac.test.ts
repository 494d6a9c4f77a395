/**
 * examples/rbac.yaml grants what the action needs and no more: every request a full release makes (every
 * router, a rollback, a dry run, status, a mirror stage, sticky sessions, retry) is allowed by it, and every verb
 * it grants is used. The releases call
 * the engine in this process: the action's process adds no Kubernetes request to what the engine makes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import {
  bookinfoObjects,
  GATEWAY_API,
  HTTPROUTE_PLAN,
  ingressObjects,
  SEED_PLAN,
  VS_PLAN,
  withIngress
} from '../../testkit/bookinfo.js'
import {
  startKubeApi,
  type KubeApi,
  type KubeObject,
  type RecordedRequest
} from '../../testkit/kube-api/index.js'
import { PROJECT_ROOT } from '../../testkit/run-action.js'
import { runEngine, type EngineRunOptions } from '../support/run-engine.js'
import { ROUTERS } from '../../src/routers/registry.js'

interface PolicyRule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
  resourceNames?: string[]
}

interface RbacObject {
  kind: string
  metadata: { name: string; namespace?: string }
  rules?: PolicyRule[]
  roleRef?: { kind: string; name: string }
  subjects?: { kind: string; name: string; namespace?: string }[]
}

const RBAC_FILE = path.join(PROJECT_ROOT, 'examples', 'rbac.yaml')

function readRbac(): RbacObject[] {
  return parseAllDocuments(readFileSync(RBAC_FILE, 'utf8')).map(document => {
    expect(document.errors).toEqual([])
    return document.toJS() as RbacObject
  })
}

/** `verb group/resource[/name]` of a request, the way RBAC sees it. */
function describe_(request: Pick<RecordedRequest, 'verb' | 'group' | 'resource' | 'name'>): string {
  return `${request.verb} ${request.group || 'core'}/${request.resource}${request.name ? `/${request.name}` : ''}`
}

function allows(rule: PolicyRule, request: RecordedRequest): boolean {
  return (
    rule.apiGroups.includes(request.group ?? '') &&
    rule.resources.includes(request.resource ?? '') &&
    rule.verbs.includes(request.verb) &&
    // resourceNames cannot restrict list or create: RBAC matches them by name only for named requests.
    (rule.resourceNames === undefined || rule.resourceNames.includes(request.name ?? ''))
  )
}

function plan(base: string, analysis: string): string {
  return base.replace(/analysis:\n(?: {2}.*\n?)*/, analysis)
}

/** VS_PLAN with a kubernetes check, so the watch reads the canary's pods. */
const VS_PLAN_WITH_POD_CHECK = plan(
  VS_PLAN,
  `analysis:
  bake: 0s
  checks:
    - name: canary-pods
      kubernetes: { maxRestarts: 0 }
`
)

/**
 * A plan with a mirror stage (50% copied) after the test-user stage, and sticky canary sessions: stages test-user,
 * shadow, 5%, 50%, 100%, finalize.
 */
function withTrafficFeatures(base: string): string {
  return base
    .replace('  - weight: 5\n', '  - name: shadow\n    mirror: 50\n  - weight: 5\n')
    .replace('stable: v1\n', 'stable: v1\nsessionAffinity: { cookieName: istio-canary, maxAge: 24h }\n')
}

/** What the cases read of a VirtualService http route or an HTTPRoute rule. */
interface Route {
  name?: string
  mirrorPercentage?: { value: number }
  filters?: { type: string; requestMirror?: { percent?: number } }[]
}
/** The routes (VirtualService `http`) or rules (HTTPRoute `rules`) of the release's routing object, by name. */
function routeNamed(object: KubeObject | undefined, list: 'http' | 'rules', name: string) {
  return (object?.spec as Record<string, Route[]> | undefined)?.[list]?.find(route => route.name === name)
}

/** How a release with a mirror stage and sticky sessions is rolled back, retried and finished on one router. */
interface TrafficFeaturesCase {
  router: 'VirtualService' | 'HTTPRoute'
  objects: KubeObject[]
  plan: string
  /** Rolls back the release after the mirror stage passed: a failing check, or the rollback command. */
  rollback: 'failing check' | 'manual'
  /** The routing object, as the cluster holds it. */
  routing: (api: KubeApi) => KubeObject | undefined
  /** The mirror stage's routing is written. */
  mirrored: (routing: KubeObject | undefined) => boolean
  /** The sticky route of sessionAffinity is written. */
  sticky: (routing: KubeObject | undefined) => boolean
}

const TRAFFIC_FEATURES: TrafficFeaturesCase[] = [
  {
    router: 'VirtualService',
    objects: bookinfoObjects(),
    plan: withTrafficFeatures(VS_PLAN_WITH_POD_CHECK),
    rollback: 'failing check',
    routing: api => api.get('networking.istio.io/v1', 'VirtualService', 'default', 'reviews'),
    mirrored: routing => routeNamed(routing, 'http', 'reviews-route')?.mirrorPercentage?.value === 50,
    sticky: routing => routeNamed(routing, 'http', 'reviews-route-sticky') !== undefined
  },
  {
    router: 'HTTPRoute',
    objects: bookinfoObjects({ router: 'HTTPRoute' }),
    plan: withTrafficFeatures(HTTPROUTE_PLAN),
    rollback: 'manual',
    routing: api => api.get(GATEWAY_API, 'HTTPRoute', 'default', 'reviews'),
    mirrored: routing =>
      routeNamed(routing, 'rules', 'reviews-api')?.filters?.some(
        filter => filter.type === 'RequestMirror' && filter.requestMirror?.percent === 50
      ) === true,
    sticky: routing => routeNamed(routing, 'rules', 'reviews-api-sticky') !== undefined
  }
]

describe('examples/rbac.yaml', () => {
  const objects = readRbac()
  const byKind = (kind: string) => objects.filter(object => object.kind === kind)
  const roles = byKind('Role')
  /** The rules of the Roles in a namespace. */
  const rulesIn = (namespace: string) =>
    roles.filter(role => role.metadata.namespace === namespace).flatMap(role => role.rules ?? [])
  const roleRules = roles.flatMap(role => role.rules ?? [])
  const clusterRules = byKind('ClusterRole').flatMap(role => role.rules ?? [])

  it('is a ServiceAccount bound to a Role in its namespace and one in the ingress namespace, plus a ClusterRole for those namespaces only', () => {
    expect(objects.map(object => object.kind)).toEqual([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding'
    ])
    const [account] = byKind('ServiceAccount')
    const subject = {
      kind: 'ServiceAccount',
      name: account.metadata.name,
      namespace: account.metadata.namespace
    }
    const bindings = byKind('RoleBinding')
    roles.forEach((role, index) => {
      expect(bindings[index].metadata.namespace).toBe(role.metadata.namespace)
      expect(bindings[index].roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name })
      expect(bindings[index].subjects).toEqual([subject])
    })
    expect(roles.map(role => role.metadata.namespace)).toEqual([account.metadata.namespace, 'istio-ingress'])
    // In the second namespace: the routing object only.
    expect(rulesIn('istio-ingress')).toEqual([
      { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get', 'update'] }
    ])
    const [clusterRole] = byKind('ClusterRole')
    const [clusterBinding] = byKind('ClusterRoleBinding')
    expect(clusterBinding.roleRef).toMatchObject({ kind: 'ClusterRole', name: clusterRole.metadata.name })
    expect(clusterBinding.subjects).toEqual([subject])
    // The cluster-wide part is only `get` on the release's namespaces, by name.
    expect(clusterRules).toEqual([
      {
        apiGroups: [''],
        resources: ['namespaces'],
        resourceNames: roles.map(role => role.metadata.namespace),
        verbs: ['get']
      }
    ])
  })

  it.each(Object.values(ROUTERS).map(router => [router.kind, router] as const))(
    "grants what the %s router declares it reads and writes, in the release's namespace",
    (_, router) => {
      for (const declared of router.rbac) {
        const rule = rulesIn(byKind('ServiceAccount')[0].metadata.namespace ?? '').find(
          candidate =>
            candidate.apiGroups.includes(declared.apiGroup) && candidate.resources.includes(declared.resource)
        )
        expect(rule?.verbs).toEqual([...declared.verbs])
      }
    }
  )

  it('grants no wildcard and nothing on secrets', () => {
    for (const rule of [...roleRules, ...clusterRules]) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*')
      expect(rule.resources).not.toContain('secrets')
    }
  })

  describe('allows every request of a full release, and grants nothing unused', () => {
    let vsApi: KubeApi
    let rrApi: KubeApi
    let hrApi: KubeApi
    const requests: RecordedRequest[] = []
    /** Each case runs a whole release. */
    const SLOW = 240_000

    const run = (api: KubeApi, planText: string, options: Partial<EngineRunOptions> = {}) =>
      runEngine({
        plan: planText,
        kubeconfig: api.kubeconfig(),
        command: 'advance',
        workspace: os.tmpdir(),
        ...options
      })
    const statusOf = async (...args: Parameters<typeof run>) => (await run(...args)).report?.status
    /** Runs a case in a cluster of its own, holding `objects`; its requests join the recorded ones. */
    const inOwnCluster = async (objects: KubeObject[], body: (api: KubeApi) => Promise<void>) => {
      const api = await startKubeApi()
      try {
        api.seed(objects)
        await api.deploymentsAvailable()
        await body(api)
        requests.push(...api.requests)
      } finally {
        await api.close()
      }
    }

    beforeAll(async () => {
      vsApi = await startKubeApi()
      rrApi = await startKubeApi()
      hrApi = await startKubeApi()
    })
    afterAll(async () => {
      await vsApi?.close()
      await rrApi?.close()
      await hrApi?.close()
    })

    it(
      'VirtualService: a dry run, then the ladder through finalize, then status',
      async () => {
        vsApi.seed(bookinfoObjects())
        await vsApi.deploymentsAvailable()
        const dry = await run(vsApi, VS_PLAN, { dryRun: true })
        expect(dry.report?.status).toBe('planned')
        const statuses: (string | undefined)[] = []
        for (let stage = 1; stage <= 5; stage++) statuses.push(await statusOf(vsApi, VS_PLAN))
        expect(statuses).toEqual(['advanced', 'advanced', 'advanced', 'advanced', 'completed'])
        expect(await statusOf(vsApi, VS_PLAN, { command: 'status' })).toBe('completed')
        expect(vsApi.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
        requests.push(...vsApi.requests)
      },
      SLOW
    )

    it(
      'VirtualService: a manual rollback, then a failing check that rolls back by itself',
      async () => {
        vsApi.clearRequests()
        vsApi.seed(bookinfoObjects())
        await vsApi.deploymentsAvailable()
        const first = await run(vsApi, VS_PLAN_WITH_POD_CHECK, { revision: 'v2-a' })
        expect(first.report?.status).toBe('advanced')
        const manual = await run(vsApi, VS_PLAN_WITH_POD_CHECK, { command: 'rollback', revision: 'v2-a' })
        expect(manual.report?.status).toBe('rolled-back')

        vsApi.setDeploymentHealth('default', 'reviews-v2', { restarts: 3 })
        const failing = await run(vsApi, VS_PLAN_WITH_POD_CHECK, { revision: 'v2-b' })
        expect(failing.report?.status).toBe('rolled-back')
        // Rolled back by the failing check (what makes the action's run fail), not by a request.
        expect(failing.report?.rollback?.check).toBe('canary-pods')
        requests.push(...vsApi.requests)
      },
      SLOW
    )

    it(
      'RouteRule: the Istio 0.2 ladder through finalize',
      async () => {
        rrApi.seed(bookinfoObjects({ router: 'RouteRule' }))
        await rrApi.deploymentsAvailable()
        const statuses: (string | undefined)[] = []
        for (let stage = 1; stage <= 4; stage++) statuses.push(await statusOf(rrApi, SEED_PLAN))
        expect(statuses).toEqual(['advanced', 'advanced', 'advanced', 'completed'])
        expect(
          rrApi.list('config.istio.io/v1alpha2', 'RouteRule', 'default').map(r => r.metadata.name)
        ).toEqual(['reviews-default'])
        requests.push(...rrApi.requests)
      },
      SLOW
    )

    it(
      'VirtualService: a release over the mesh and the ingress VirtualService, in two namespaces',
      () =>
        inOwnCluster([...bookinfoObjects(), ...ingressObjects()], async api => {
          const twoNamespaces = withIngress(VS_PLAN)
          expect(await statusOf(api, twoNamespaces)).toBe('advanced')
          expect(await statusOf(api, twoNamespaces, { command: 'rollback' })).toBe('rolled-back')
          expect(
            api.requests.some(request => request.namespace === 'istio-ingress' && request.verb === 'update')
          ).toBe(true)
        }),
      SLOW
    )

    it.each(TRAFFIC_FEATURES.map(c => [c.router, c.rollback, c] as const))(
      '%s: a mirror stage and sticky sessions, a %s rollback, retry, then the ladder through finalize',
      (_router, _rollback, c) =>
        inOwnCluster(c.objects, async api => {
          const routing = () => c.routing(api)
          expect(await statusOf(api, c.plan)).toBe('advanced')
          expect(await statusOf(api, c.plan)).toBe('advanced')
          expect(c.mirrored(routing())).toBe(true)
          if (c.rollback === 'failing check') {
            api.setDeploymentHealth('default', 'reviews-v2', { restarts: 3 })
            const failing = await run(api, c.plan)
            expect(failing.report?.status).toBe('rolled-back')
            expect(failing.report?.rollback?.check).toBe('canary-pods')
            api.setDeploymentHealth('default', 'reviews-v2', { restarts: 0 })
          } else {
            expect(await statusOf(api, c.plan)).toBe('advanced')
            expect(c.sticky(routing())).toBe(true)
            expect(await statusOf(api, c.plan, { command: 'rollback' })).toBe('rolled-back')
          }
          expect(c.mirrored(routing()) || c.sticky(routing())).toBe(false)

          const retried = await run(api, c.plan, { command: 'retry' })
          expect(retried.report).toMatchObject({ status: 'advanced', stage: { index: 1 } })
          const statuses: (string | undefined)[] = []
          const written: string[] = []
          for (let stage = 2; stage <= 6; stage++) {
            statuses.push(await statusOf(api, c.plan))
            if (c.mirrored(routing())) written.push(`mirror at ${stage}`)
            if (c.sticky(routing())) written.push(`sticky at ${stage}`)
          }
          expect(statuses).toEqual(['advanced', 'advanced', 'advanced', 'advanced', 'completed'])
          expect(written).toEqual(['mirror at 2', 'sticky at 3', 'sticky at 4'])
        }),
      SLOW
    )

    it(
      'RouteRule: a watched stage re-reads the default rule',
      async () => {
        rrApi.seed(bookinfoObjects({ router: 'RouteRule' }))
        await rrApi.deploymentsAvailable()
        rrApi.clearRequests()
        const watched = plan(SEED_PLAN, 'analysis:\n  interval: 200ms\n  bake: 400ms\n')
        expect(await statusOf(rrApi, watched, { revision: 'v2-watched' })).toBe('advanced')
        requests.push(...rrApi.requests)
      },
      SLOW
    )

    it(
      'HTTPRoute: a dry run, the ladder through finalize (each write accepted by the controller), status, a missing route',
      async () => {
        hrApi.seed(bookinfoObjects({ router: 'HTTPRoute' }))
        await hrApi.deploymentsAvailable()
        const dry = await run(hrApi, HTTPROUTE_PLAN, { dryRun: true })
        expect(dry.report?.status).toBe('planned')
        const statuses: (string | undefined)[] = []
        for (let stage = 1; stage <= 5; stage++) statuses.push(await statusOf(hrApi, HTTPROUTE_PLAN))
        expect(statuses).toEqual(['advanced', 'advanced', 'advanced', 'advanced', 'completed'])
        expect(await statusOf(hrApi, HTTPROUTE_PLAN, { command: 'status' })).toBe('completed')
        expect(hrApi.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
        // A routing object that is missing: the namespace is read to tell the two cases apart.
        const missing = HTTPROUTE_PLAN.replace('stable: v1', 'routing: { name: bookinfo }\nstable: v1')
        const refused = await run(hrApi, missing)
        expect(refused.error).toContain('preconditions: HTTPRoute default/bookinfo not found')
        requests.push(...hrApi.requests)
      },
      SLOW
    )

    it('every recorded request is allowed', () => {
      const api = requests.filter(request => request.verb !== 'discovery')
      expect(api.length).toBeGreaterThan(0)
      const denied = api
        .filter(request => {
          const rules = request.namespace === undefined ? clusterRules : rulesIn(request.namespace)
          return !rules.some(rule => allows(rule, request))
        })
        .map(describe_)
      expect([...new Set(denied)]).toEqual([])
    })

    it('every granted verb was used', () => {
      const used = new Set(
        requests.map(request => `${request.verb} ${request.group ?? ''}/${request.resource}`)
      )
      const unused = [...roleRules, ...clusterRules].flatMap(rule =>
        rule.apiGroups.flatMap(group =>
          rule.resources.flatMap(resource =>
            rule.verbs
              .filter(verb => !used.has(`${verb} ${group}/${resource}`))
              .map(verb => `${verb} ${group}/${resource}`)
          )
        )
      )
      expect(unused).toEqual([])
    })
  })
})
