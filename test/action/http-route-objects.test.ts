/**
 * One HTTPRoute release over two routes: the mesh route of the service (parent: the Service) and a Gateway ingress
 * route in the gateway's namespace (parent: the Gateway; backendRefs to the service's namespace). Both move at
 * every stage, both must be accepted, a refusal of either puts both back, drift in either is refused, and a
 * rollback restores both.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { bookinfoObjects, GATEWAY_API, HTTPROUTE_PLAN } from '../../testkit/bookinfo.js'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { runAction, errorOf } from '../../testkit/run-action.js'
import { setupRun } from '../support/run-engine.js'

const ref = (name: string, weight: number, namespace?: string) => ({
  group: '',
  kind: 'Service',
  name,
  ...(namespace && { namespace }),
  port: 9080,
  weight
})

/** The ingress route of the bookinfo Gateway: the product page, and the reviews API for outside callers. */
function ingressRoute(): KubeObject {
  return {
    apiVersion: GATEWAY_API,
    kind: 'HTTPRoute',
    metadata: { name: 'bookinfo', namespace: 'istio-ingress' },
    spec: {
      parentRefs: [{ name: 'bookinfo-gateway' }],
      hostnames: ['bookinfo.example.com'],
      rules: [
        {
          name: 'productpage',
          matches: [{ path: { type: 'PathPrefix', value: '/productpage' } }],
          backendRefs: [{ name: 'productpage', namespace: 'default', port: 9080 }]
        },
        {
          name: 'reviews-ingress',
          matches: [{ path: { type: 'PathPrefix', value: '/api/v1/reviews' } }],
          backendRefs: [{ name: 'reviews', namespace: 'default', port: 9080 }]
        }
      ]
    }
  }
}

const PLAN = HTTPROUTE_PLAN.replace(
  'stable: v1',
  'routing:\n  - name: reviews\n  - name: bookinfo\n    namespace: istio-ingress\n    route: reviews-ingress\nstable: v1'
)

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi({ routeStatusDelayMs: 50 })
  api.seed([
    ...bookinfoObjects({ router: 'HTTPRoute' }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'productpage', namespace: 'default' },
      spec: { selector: { app: 'productpage' }, ports: [{ port: 9080 }] }
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-ingress' } },
    ingressRoute()
  ])
  await api.waitFor(() => mesh().status !== undefined && ingress().status !== undefined)
})
afterEach(() => api.close())

const mesh = () => api.get(GATEWAY_API, 'HTTPRoute', 'default', 'reviews') as KubeObject
const ingress = () => api.get(GATEWAY_API, 'HTTPRoute', 'istio-ingress', 'bookinfo') as KubeObject
type Rule = { name: string; backendRefs: object[] }
const rulesOf = (object: KubeObject) => (object.spec as { rules: Rule[] }).rules
const refsOf = (object: KubeObject, name: string) =>
  rulesOf(object).find(rule => rule.name === name)?.backendRefs

function action(inputs: Record<string, string> = {}, plan = PLAN) {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...inputs } })
}
/** An advance that only brings the release to where the test's next check starts. */
const setup = () => setupRun(api, { plan: PLAN })

describe('a release over the mesh route and a Gateway ingress route', () => {
  it('moves both at every stage, waits for both to be accepted, and completes', async () => {
    const seeded = structuredClone(ingress())
    const first = await action()
    expect(first.exitCode).toBe(0)
    expect(rulesOf(ingress()).map(rule => rule.name)).toEqual([
      'productpage',
      'reviews-ingress-test-user',
      'reviews-ingress'
    ])
    expect(refsOf(ingress(), 'reviews-ingress-test-user')).toEqual([ref('reviews-v2', 100, 'default')])
    expect(first.stdout).toContain(
      'accepted by the controller: HTTPRoute default/reviews, HTTPRoute istio-ingress/bookinfo after'
    )
    expect(Object.keys(mesh().metadata.annotations ?? {})).toContain(
      'reviews.default.istio-canary-action.github.io/state'
    )
    expect(ingress().metadata.annotations ?? {}).toEqual({})

    expect((await action()).outputs).toMatchObject({ stage: '5%', weight: '5' })
    expect(refsOf(mesh(), 'reviews-api')).toEqual([ref('reviews-v1', 95), ref('reviews-v2', 5)])
    expect(refsOf(ingress(), 'reviews-ingress')).toEqual([
      ref('reviews-v1', 95, 'default'),
      ref('reviews-v2', 5, 'default')
    ])
    // The gateway's own rule, hostnames and parent are the user's.
    expect(rulesOf(ingress())[0]).toEqual(rulesOf(seeded)[0])
    expect(ingress().spec).toMatchObject({
      hostnames: ['bookinfo.example.com'],
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'bookinfo-gateway' }]
    })
    for (let stage = 3; stage <= 5; stage++) await setup()
    expect(rulesOf(ingress()).map(rule => rule.name)).toEqual(['productpage', 'reviews-ingress'])
    expect(refsOf(ingress(), 'reviews-ingress')).toEqual([ref('reviews-v2', 100, 'default')])
    const report = (await action({ command: 'status' })).report as { objects: string[]; status: string }
    expect(report.objects).toEqual(['HTTPRoute default/reviews', 'HTTPRoute istio-ingress/bookinfo'])
    expect(report.status).toBe('completed')
  }, 240_000)

  it('the gateway refusing its route puts both routes back', async () => {
    await setup()
    const meshAtStage1 = structuredClone(mesh())
    const ingressAtStage1 = structuredClone(ingress())
    api.refuseRoute('istio-ingress', 'bookinfo', {
      reason: 'NotAllowedByListeners',
      message: 'the listener does not allow routes from this namespace',
      when: object => JSON.stringify(object.spec).includes('"weight":95')
    })
    const refused = await action()
    expect(refused.exitCode).toBe(1)
    expect(errorOf(refused)).toContain(
      'acceptance: HTTPRoute istio-ingress/bookinfo, parent Gateway istio-ingress/bookinfo-gateway did not accept what this run wrote: Accepted=False (NotAllowedByListeners): the listener does not allow routes from this namespace; the 2 object(s) this run had already written were restored'
    )
    expect(mesh().spec).toEqual(meshAtStage1.spec)
    expect(mesh().metadata.annotations).toEqual(meshAtStage1.metadata.annotations)
    expect(ingress().spec).toEqual(ingressAtStage1.spec)
  }, 120_000)

  it('refuses drift in the ingress route, naming it; a rollback restores both routes', async () => {
    await setup()
    const meshPinned = structuredClone(rulesOf(mesh()).filter(rule => rule.name !== 'reviews-api-test-user'))
    const ingressPinned = structuredClone(
      rulesOf(ingress()).filter(rule => !rule.name.endsWith('-test-user'))
    )
    expect((await action()).outputs.stage).toBe('5%')
    const edited = ingress()
    const shifted = rulesOf(edited).find(rule => rule.name === 'reviews-ingress') as {
      backendRefs: { weight: number }[]
    }
    shifted.backendRefs[1].weight = 50
    api.put(edited)
    api.clearRequests()
    const refused = await action()
    expect(errorOf(refused)).toContain(
      'drift: HTTPRoute istio-ingress/bookinfo (spec.rules[2].backendRefs[1].weight) changed since this action last wrote it'
    )
    expect(api.writes()).toEqual([])
    const rolledBack = await action({ command: 'rollback' })
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(rulesOf(mesh())).toEqual(meshPinned)
    expect(rulesOf(ingress())).toEqual(ingressPinned)
  }, 180_000)
})
