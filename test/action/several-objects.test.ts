/**
 * One release over several routing objects: the mesh VirtualService in the service's namespace and the ingress
 * gateway's VirtualService in another move together, drift in either is refused, a rollback restores both, a
 * write refused half-way is undone, a delegate VirtualService is shifted like any other.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, ingressObjects, VS_PLAN, withIngress } from '../../testkit/bookinfo.js'
import { runAction, type ActionResult, errorOf } from '../../testkit/run-action.js'
import { setupRun } from '../support/run-engine.js'

const NETWORKING = 'networking.istio.io/v1'
const FQDN = 'reviews.default.svc.cluster.local'
const PLAN = withIngress(VS_PLAN)
const IN_PROGRESS = 'istio-canary-action.github.io/in-progress'

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi()
  api.seed([...bookinfoObjects(), ...ingressObjects()])
})
afterEach(() => api.close())

function action(inputs: Record<string, string> = {}, plan = PLAN): Promise<ActionResult> {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...inputs } })
}
/** An advance that only brings the release to where the test's next check starts. */
const setup = () => setupRun(api, { plan: PLAN })

type Route = { name?: string; route: { destination: { host: string; subset: string }; weight?: number }[] }
const mesh = () => api.get(NETWORKING, 'VirtualService', 'default', 'reviews') as KubeObject
const ingress = () => api.get(NETWORKING, 'VirtualService', 'istio-ingress', 'bookinfo') as KubeObject
const routesOf = (object: KubeObject) => (object.spec as { http: Route[] }).http
/** The GitOps in-progress label of the mesh and the ingress VirtualService. */
const inProgressLabels = () =>
  [mesh(), ingress()].map(
    object => (object.metadata.labels as Record<string, string> | undefined)?.[IN_PROGRESS]
  )
const split = (object: KubeObject, name: string) =>
  routesOf(object)
    .find(route => route.name === name)!
    .route.map(d => [d.destination.subset, d.weight ?? 100])

describe('a release over a mesh and an ingress VirtualService in two namespaces', () => {
  it('moves both at every stage, records the state on the first, and completes', async () => {
    const first = await action()
    expect(first.exitCode).toBe(0)
    expect(routesOf(mesh()).map(r => r.name)).toEqual([
      'ratings-route',
      'reviews-route-test-user',
      'reviews-route'
    ])
    expect(routesOf(ingress()).map(r => r.name)).toEqual([
      'productpage',
      'reviews-ingress-test-user',
      'reviews-ingress'
    ])
    expect(Object.keys(mesh().metadata.annotations ?? {})).toContain(
      'reviews.default.istio-canary-action.github.io/state'
    )
    expect(ingress().metadata.annotations ?? {}).toEqual({})

    const second = await action()
    expect(second.outputs).toMatchObject({ stage: '5%', weight: '5' })
    expect(split(mesh(), 'reviews-route')).toEqual([
      ['v1', 95],
      ['v2', 5]
    ])
    expect(split(ingress(), 'reviews-ingress')).toEqual([
      ['v1', 95],
      ['v2', 5]
    ])
    // The ingress's own route and the reviews route's other fields are the user's.
    expect(routesOf(ingress())[0]).toEqual(routesOf(ingressObjects()[1])[0])
    expect((routesOf(ingress()).at(-1) as unknown as { timeout: string }).timeout).toBe('5s')

    for (let stage = 3; stage <= 5; stage++) await setup()
    expect(split(ingress(), 'reviews-ingress')).toEqual([['v2', 100]])
    expect(routesOf(ingress()).map(r => r.name)).toEqual(['productpage', 'reviews-ingress'])
    const report = (await action({ command: 'status' })).report as { objects: string[]; status: string }
    expect(report.objects).toEqual([
      'VirtualService default/reviews',
      'VirtualService istio-ingress/bookinfo'
    ])
    expect(report.status).toBe('completed')
  }, 180_000)

  it('labels both objects in progress while the release runs, and unlabels both when it completes or rolls back', async () => {
    // The last stage is watched: the write that completes the release changes no route of the ingress object.
    const watchedLast = withIngress(
      'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - weight: 10\n  - weight: 100\n    bake: 300ms\nanalysis:\n  bake: 0s\n'
    )
    expect(inProgressLabels()).toEqual([undefined, undefined])
    expect((await action({}, watchedLast)).outputs.status).toBe('advanced')
    expect(inProgressLabels()).toEqual(['true', 'true'])
    api.clearRequests()
    expect((await action({}, watchedLast)).outputs).toMatchObject({ status: 'completed', done: 'true' })
    // Two writes of the ingress object: the 100% stage, then only its label when the watch passed.
    expect(
      api.writes().filter(request => request.namespace === 'istio-ingress' && request.verb === 'update')
    ).toHaveLength(2)
    expect(inProgressLabels()).toEqual([undefined, undefined])

    expect((await action({ revision: 'v2-b' }, watchedLast)).outputs.status).toBe('advanced')
    expect(inProgressLabels()).toEqual(['true', 'true'])
    const rolledBack = await action({ command: 'rollback', revision: 'v2-b' }, watchedLast)
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(inProgressLabels()).toEqual([undefined, undefined])
  }, 120_000)

  it('refuses drift in the second object, naming it and the field; rollback restores both exactly', async () => {
    const meshBefore = structuredClone(mesh().spec)
    const ingressBefore = structuredClone(ingress().spec)
    await setup()
    await setup()
    const edited = ingress()
    routesOf(edited)[2].route[0].weight = 70
    routesOf(edited)[2].route[1].weight = 30
    api.put(edited)
    api.clearRequests()

    const refused = await action()
    expect(refused.exitCode).toBe(1)
    expect(errorOf(refused)).toContain(
      'drift: VirtualService istio-ingress/bookinfo (spec.http[2].route[0].weight'
    )
    expect(api.writes()).toEqual([])

    const rolledBack = await action({ command: 'rollback' })
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(rolledBack.annotations.some(a => a.kind === 'warning' && a.message.includes('drift'))).toBe(true)
    expect(mesh().spec).toEqual(meshBefore)
    expect(ingress().spec).toEqual(ingressBefore)
  }, 120_000)

  it('a failing check restores both objects exactly', async () => {
    const meshBefore = structuredClone(mesh().spec)
    const ingressBefore = structuredClone(ingress().spec)
    await setup()
    expect(inProgressLabels()).toEqual(['true', 'true'])
    const failing = PLAN.replace(
      'analysis:\n  bake: 0s\n',
      'analysis:\n  interval: 200ms\n  bake: 1s\n  checks:\n    - name: smoke\n      http: { url: "http://127.0.0.1:1/health", timeout: 200ms }\n'
    )
    const result = await action({}, failing)
    expect(result.outputs.status).toBe('rolled-back')
    expect(result.exitCode).toBe(1)
    expect(mesh().spec).toEqual(meshBefore)
    expect(ingress().spec).toEqual(ingressBefore)
    expect(inProgressLabels()).toEqual([undefined, undefined])
  }, 120_000)

  it('undoes the first write when the second object refuses, and the next run continues', async () => {
    await setup()
    const meshAtStage1 = structuredClone(mesh())
    api.injectFault({
      method: 'PUT',
      path: /\/namespaces\/istio-ingress\/virtualservices\/bookinfo$/,
      status: 500,
      times: 1
    })
    const failed = await action()
    expect(failed.exitCode).toBe(1)
    expect(errorOf(failed)).toMatch(
      /update VirtualService istio-ingress\/bookinfo: .*the 1 object\(s\) this run had already written were restored/
    )
    expect(mesh().spec).toEqual(meshAtStage1.spec)
    expect(mesh().metadata.annotations).toEqual(meshAtStage1.metadata.annotations)
    api.clearFaults()
    const next = await action()
    expect(next.outputs).toMatchObject({ status: 'advanced', stage: '5%' })
    expect(split(ingress(), 'reviews-ingress')).toEqual([
      ['v1', 95],
      ['v2', 5]
    ])
  }, 120_000)

  it('refuses a bad list before any write: an object that does not route the service, a missing namespace', async () => {
    api.clearRequests()
    const notRouting = PLAN.replace('route: reviews-ingress', 'route: productpage')
    const result = await action({}, notRouting)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain(
      'VirtualService istio-ingress/bookinfo: spec.http[0] sends no traffic to host reviews'
    )
    const missing = await action({}, PLAN.replace('namespace: istio-ingress', 'namespace: gateways'))
    expect(errorOf(missing)).toContain("namespace 'gateways' not found")
    expect(api.writes()).toEqual([])
  }, 60_000)
})

describe('a delegate VirtualService', () => {
  it('is shifted like any other, and the root that delegates to it is never touched', async () => {
    const root: KubeObject = {
      apiVersion: NETWORKING,
      kind: 'VirtualService',
      metadata: { name: 'bookinfo-root', namespace: 'istio-ingress' },
      spec: {
        hosts: ['shop.example.com'],
        gateways: ['istio-ingress/bookinfo-gateway'],
        http: [
          {
            match: [{ uri: { prefix: '/reviews' } }],
            delegate: { name: 'reviews-delegate', namespace: 'default' }
          }
        ]
      }
    }
    const delegate: KubeObject = {
      apiVersion: NETWORKING,
      kind: 'VirtualService',
      metadata: { name: 'reviews-delegate', namespace: 'default' },
      spec: {
        http: [{ name: 'reviews-api', route: [{ destination: { host: FQDN, subset: 'v1' } }] }]
      }
    }
    api.seed([root, delegate])
    const rootBefore = structuredClone(
      api.get(NETWORKING, 'VirtualService', 'istio-ingress', 'bookinfo-root')
    )
    const plan = VS_PLAN.replace(
      'stable: v1',
      'routing:\n  - name: reviews\n  - name: reviews-delegate\nstable: v1'
    )
    expect((await action({}, plan)).exitCode).toBe(0)
    expect((await action({}, plan)).outputs.stage).toBe('5%')
    const shifted = api.get(NETWORKING, 'VirtualService', 'default', 'reviews-delegate') as KubeObject
    expect(split(shifted, 'reviews-api')).toEqual([
      ['v1', 95],
      ['v2', 5]
    ])
    expect(api.get(NETWORKING, 'VirtualService', 'istio-ingress', 'bookinfo-root')).toEqual(rootBefore)
  }, 120_000)
})
