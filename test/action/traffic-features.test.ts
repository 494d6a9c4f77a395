/**
 * Mirror stages, sticky canaries, `retry` after a rollback, and the GitOps in-progress label, through the action
 * against the API double.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, SEED_PLAN } from '../../testkit/bookinfo.js'
import { runAction, type ActionResult, errorOf } from '../../testkit/run-action.js'
import { setupRun } from '../support/run-engine.js'

const NETWORKING = 'networking.istio.io/v1'
const DEST = { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } }
const LABEL = 'istio-canary-action.github.io/in-progress'

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
})
afterEach(() => api.close())

function action(plan: string, inputs: Record<string, string> = {}): Promise<ActionResult> {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...inputs } })
}
/** A run that only brings the release to where the test starts. */
const setup = (plan: string, command?: 'rollback') => setupRun(api, { plan, command })

function plan(stages: string, extra = ''): string {
  return `service: reviews\nstable: v1\ncanary: v2\n${extra}stages:\n${stages}analysis:\n  bake: 0s\n`
}

const virtualService = () => api.get(NETWORKING, 'VirtualService', 'default', 'reviews') as KubeObject
const label = () => (virtualService().metadata.labels as Record<string, string> | undefined)?.[LABEL]
type Route = Record<string, unknown> & { name?: string; route: Record<string, unknown>[] }
const routes = () => (virtualService().spec as { http: Route[] }).http
const route = (name: string) => routes().find(r => r.name === name)

describe('mirror stage', () => {
  it('copies a share of the requests to the canary while users stay on stable; the next stage removes it', async () => {
    const mirrored = plan('  - name: shadow\n    mirror: 50\n  - weight: 10\n')
    const first = await action(mirrored)
    expect(first.outputs).toMatchObject({ status: 'advanced', stage: 'shadow', weight: '0' })
    expect(route('reviews-route')).toMatchObject({
      route: [{ destination: { ...DEST, subset: 'v1' } }],
      mirror: { host: DEST.host, subset: 'v2', port: DEST.port },
      mirrorPercentage: { value: 50 }
    })
    const second = await action(mirrored)
    expect(second.outputs.stage).toBe('10%')
    expect(route('reviews-route')?.mirror).toBeUndefined()
    expect(route('reviews-route')?.mirrorPercentage).toBeUndefined()
  }, 60_000)

  it('mirrors only the methods it is given, through a route of their own', async () => {
    const idempotent = plan('  - mirror: { percent: 100, methods: [GET, HEAD] }\n  - weight: 10\n')
    expect((await action(idempotent)).exitCode).toBe(0)
    expect(route('reviews-route-mirror')).toMatchObject({
      match: [
        { uri: { prefix: '/reviews' }, method: { regex: 'GET|HEAD' } },
        { uri: { prefix: '/api/reviews' }, method: { regex: 'GET|HEAD' } }
      ],
      route: [{ destination: { ...DEST, subset: 'v1' } }],
      mirror: { subset: 'v2' },
      mirrorPercentage: { value: 100 }
    })
    expect(route('reviews-route')?.mirror).toBeUndefined()
  }, 60_000)
})

describe('mirror stage on RouteRule', () => {
  const ROUTE_RULE_API = 'config.istio.io/v1alpha2'
  /** The Istio 0.2 tutorial with a mirror stage between the test-user stage and the 50/50 split. */
  const mirrored = SEED_PLAN.replace(
    '  - weight: 50\n',
    '  - name: shadow\n    mirror: 100\n  - weight: 50\n'
  )
  /** The rule that carries the weights, as the cluster held it before the release (a timeout of its own). */
  const DEFAULT_RULE = {
    destination: { name: 'reviews' },
    precedence: 1,
    httpReqTimeout: { simpleTimeout: { timeout: '2s' } },
    route: [{ labels: { version: 'v1' } }]
  }
  const rules = () =>
    Object.fromEntries(
      api.list(ROUTE_RULE_API, 'RouteRule', 'default').map(rule => [rule.metadata.name, rule.spec])
    )

  beforeEach(() => {
    api.seed([
      ...bookinfoObjects({ router: 'RouteRule' }),
      {
        apiVersion: ROUTE_RULE_API,
        kind: 'RouteRule',
        metadata: { name: 'reviews-default', namespace: 'default' },
        spec: DEFAULT_RULE
      }
    ])
  })

  it('writes the mirror on the rule that carries the weights, users stay on stable, and the next stage removes it', async () => {
    await setup(mirrored)
    const testUser = rules()['reviews-test-user']
    const shadow = await action(mirrored)
    expect(shadow.outputs).toMatchObject({ status: 'advanced', stage: 'shadow', weight: '0' })
    expect(rules()).toEqual({
      'reviews-default': { ...DEFAULT_RULE, mirror: { name: 'reviews', labels: { version: 'v2' } } },
      'reviews-test-user': testUser
    })
    expect(testUser).not.toHaveProperty('mirror')

    const split = await action(mirrored)
    expect(split.outputs).toMatchObject({ stage: '50%', weight: '50' })
    expect(rules()['reviews-default']).toEqual({
      ...DEFAULT_RULE,
      route: [
        { labels: { version: 'v1' }, weight: 50 },
        { labels: { version: 'v2' }, weight: 50 }
      ]
    })
  }, 90_000)

  it('rolls back from the mirror stage to exactly the pinned rules', async () => {
    await setup(mirrored)
    await setup(mirrored)
    expect(rules()['reviews-default']).toHaveProperty('mirror')
    const rolledBack = await action(mirrored, { command: 'rollback' })
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(rules()).toEqual({ 'reviews-default': DEFAULT_RULE })
  }, 60_000)
})

describe('sessionAffinity', () => {
  const sticky = plan(
    '  - weight: 10\n  - weight: 50\n  - weight: 100\n',
    'sessionAffinity: { maxAge: 1h }\n'
  )

  it('keeps users who reached the canary on it until 100%, and the cookie names the revision', async () => {
    await action(sticky)
    const stickyRoute = route('reviews-route-sticky')
    expect(stickyRoute?.match).toEqual([
      { uri: { prefix: '/reviews' }, headers: { cookie: { regex: '^(.*?;\\s*)?istio-canary=v2(;.*)?$' } } },
      {
        uri: { prefix: '/api/reviews' },
        headers: { cookie: { regex: '^(.*?;\\s*)?istio-canary=v2(;.*)?$' } }
      }
    ])
    expect(stickyRoute?.route).toEqual([{ destination: { ...DEST, subset: 'v2' } }])
    expect(route('reviews-route')?.route).toEqual([
      { destination: { ...DEST, subset: 'v1' }, weight: 90 },
      {
        destination: { ...DEST, subset: 'v2' },
        weight: 10,
        headers: { response: { add: { 'set-cookie': 'istio-canary=v2; Max-Age=3600; Path=/' } } }
      }
    ])
    await action(sticky)
    expect(route('reviews-route-sticky')).toBeDefined()
    await action(sticky)
    expect(route('reviews-route-sticky')).toBeUndefined()
    expect(JSON.stringify(routes())).not.toContain('set-cookie')
  }, 90_000)

  it('is removed by a rollback', async () => {
    const before = structuredClone(virtualService().spec)
    await setup(sticky)
    await action(sticky, { command: 'rollback' })
    expect(virtualService().spec).toEqual(before)
  }, 60_000)
})

describe('retry', () => {
  const ladder = plan('  - weight: 10\n  - weight: 50\n')

  it('starts a rolled-back revision again from the pin, recorded in the history', async () => {
    await setup(ladder)
    await setup(ladder, 'rollback')
    const retried = await action(ladder, { command: 'retry' })
    expect(retried.exitCode).toBe(0)
    expect(retried.outputs).toMatchObject({ status: 'advanced', stage: '10%', 'stage-index': '1' })
    const history = (retried.report as { history: { event: string }[] }).history.map(entry => entry.event)
    expect(history).toEqual([
      'pinned to v1',
      'applied 10%',
      'passed 10%',
      'rolled back: manual rollback',
      'retry: pinned to v1',
      'applied 10%',
      'passed 10%'
    ])
    expect((await action(ladder)).outputs.stage).toBe('50%')
  }, 90_000)

  it('is refused, writing nothing, when nothing was rolled back', async () => {
    api.clearRequests()
    const idle = await action(ladder, { command: 'retry' })
    expect(idle.exitCode).toBe(1)
    expect(errorOf(idle)).toContain(
      'retry starts a rolled-back revision again, and there is none (no release)'
    )
    await setup(ladder)
    api.clearRequests()
    const inProgress = await action(ladder, { command: 'retry' })
    expect(errorOf(inProgress)).toContain('(v2 at stage 1/2 (passed))')
    expect(api.writes()).toEqual([])
  }, 60_000)
})

describe('GitOps coexistence', () => {
  const ladder = plan('  - weight: 10\n  - weight: 100\n')

  it('labels the routing object while a release runs, and removes the label when it completes or rolls back', async () => {
    expect(label()).toBeUndefined()
    await action(ladder)
    expect(label()).toBe('true')
    // The last stage has nothing to watch: it completes the release in the same write.
    const completed = await action(ladder)
    expect(completed.outputs).toMatchObject({ status: 'completed', done: 'true', 'next-stage': '' })
    expect(label()).toBeUndefined()
    await action(ladder, { revision: 'v2-b' })
    expect(label()).toBe('true')
    await action(ladder, { command: 'rollback', revision: 'v2-b' })
    expect(label()).toBeUndefined()
  }, 90_000)
})
