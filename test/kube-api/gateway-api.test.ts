/**
 * The double's Gateway API: HTTPRoute admitted against the v1.2 standard-channel schema (rule names, mirror
 * percent, the 16-rule limit, the CRD's CEL rules), the simulated controller's status writes, refusals and
 * unresolved backends, and a cluster that serves only v1beta1.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import * as k8s from '@kubernetes/client-node'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { apiError, raw } from './helpers.js'

const GATEWAY_API = 'gateway.networking.k8s.io/v1'
const MESH_PARENT = { group: '', kind: 'Service', name: 'reviews', port: 9080 }

type Route = KubeObject & { metadata: k8s.V1ObjectMeta & { name: string; namespace: string } }

function httpRoute(rules: object[], name = 'reviews'): Route {
  return {
    apiVersion: GATEWAY_API,
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'default' },
    spec: { parentRefs: [MESH_PARENT], rules }
  }
}

function service(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { selector: { app: 'reviews' }, ports: [{ port: 9080 }] }
  }
}

const backend = (name: string) => ({ name, port: 9080 })

let api: KubeApi
let objects: k8s.KubernetesObjectApi

async function start(options: Parameters<typeof startKubeApi>[0] = {}) {
  api = await startKubeApi(options)
  const kc = new k8s.KubeConfig()
  kc.loadFromString(api.kubeconfig())
  objects = k8s.KubernetesObjectApi.makeApiClient(kc)
}
afterEach(() => api.close())

type Status = {
  parents: { parentRef: object; controllerName: string; conditions: Record<string, unknown>[] }[]
}
const statusOf = (name = 'reviews') =>
  (api.get(GATEWAY_API, 'HTTPRoute', 'default', name) as { status?: Status }).status

describe('HTTPRoute schema (Gateway API v1.2 standard channel)', () => {
  beforeEach(() => start())

  it('keeps rule names and mirror percent, and applies the schema defaults', async () => {
    const created = await objects.create(
      httpRoute([
        {
          name: 'reviews-api',
          filters: [
            { type: 'RequestMirror', requestMirror: { backendRef: { name: 'reviews-v2' }, percent: 10 } }
          ],
          backendRefs: [backend('reviews-v1')]
        }
      ])
    )
    expect((created.spec as { rules: unknown[] }).rules).toEqual([
      {
        name: 'reviews-api',
        filters: [
          {
            type: 'RequestMirror',
            requestMirror: { backendRef: { group: '', kind: 'Service', name: 'reviews-v2' }, percent: 10 }
          }
        ],
        backendRefs: [{ group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 1 }],
        matches: [{ path: { type: 'PathPrefix', value: '/' } }]
      }
    ])
  })

  it('refuses a 17th rule, as the CRD does', async () => {
    const rules = Array.from({ length: 17 }, (_, i) => ({ name: `r${i}`, backendRefs: [backend('reviews')] }))
    const error = await apiError(() => objects.create(httpRoute(rules)))
    expect(error.code).toBe(422)
    expect(error.body.message).toBe(
      'HTTPRoute.gateway.networking.k8s.io "reviews" is invalid: spec.rules: Too many: 17: must have at most 16 items'
    )
  })

  it('refuses a bad rule name, and a percent outside 0..100', async () => {
    const badName = await apiError(() =>
      objects.create(httpRoute([{ name: 'Reviews_API', backendRefs: [] }]))
    )
    expect(badName.body.message).toContain('spec.rules[0].name: Invalid value: "Reviews_API"')
    const mirror = { type: 'RequestMirror', requestMirror: { backendRef: { name: 'x' }, percent: 150 } }
    const badPercent = await apiError(() => objects.create(httpRoute([{ filters: [mirror] }])))
    expect(badPercent.body.message).toContain(
      'spec.rules[0].filters[0].requestMirror.percent: Invalid value: 150: spec.rules[0].filters[0].requestMirror.percent in body should be less than or equal to 100'
    )
  })

  it("applies the CRD's CEL rules: unique rule names, percent or fraction, at most 128 matches", async () => {
    const twice = await apiError(() =>
      objects.create(
        httpRoute([
          { name: 'a', backendRefs: [] },
          { name: 'a', backendRefs: [] }
        ])
      )
    )
    expect(twice.body.message).toBe(
      'HTTPRoute.gateway.networking.k8s.io "reviews" is invalid: spec.rules: Invalid value: "array": Rule name must be unique within the route'
    )
    const both = {
      type: 'RequestMirror',
      requestMirror: { backendRef: { name: 'x' }, percent: 5, fraction: { numerator: 1 } }
    }
    const mirror = await apiError(() => objects.create(httpRoute([{ filters: [both] }])))
    expect(mirror.body.message).toContain(
      'spec.rules[0].filters[0].requestMirror: Invalid value: "object": Only one of percent or fraction may be specified in HTTPRequestMirrorFilter'
    )
    const matches = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ path: { type: 'PathPrefix', value: `/p${i}` } }))
    const many = await apiError(() =>
      objects.create(httpRoute([{ matches: matches(64) }, { matches: matches(64) }, { matches: matches(1) }]))
    )
    expect(many.body.message).toContain(
      'the total number of matches across all rules in a route must be less than 128'
    )
    await objects.create(httpRoute([{ matches: matches(64) }, { matches: matches(64) }]))
  })
})

describe('the simulated Gateway API controller', () => {
  beforeEach(() => start({ routeStatusDelayMs: 30 }))

  it('writes Accepted and ResolvedRefs for every parent at the generation, moving the resourceVersion', async () => {
    api.seed([service('reviews'), service('reviews-v1')])
    const created = await objects.create(httpRoute([{ backendRefs: [backend('reviews-v1')] }]))
    expect(created.status).toBeUndefined()
    await api.waitFor(() => statusOf() !== undefined)
    const route = api.get(GATEWAY_API, 'HTTPRoute', 'default', 'reviews') as KubeObject
    expect(Number(route.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion))
    expect(route.metadata.generation).toBe(1)
    expect(statusOf()?.parents).toEqual([
      {
        parentRef: MESH_PARENT,
        controllerName: 'istio.io/mesh-controller',
        conditions: [
          expect.objectContaining({
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            observedGeneration: 1
          }),
          expect.objectContaining({
            type: 'ResolvedRefs',
            status: 'True',
            reason: 'ResolvedRefs',
            observedGeneration: 1
          })
        ]
      }
    ])
    // A change of the spec is reported at the new generation; the action's conditional write must re-read first.
    const changed = {
      ...route,
      spec: { ...(route.spec as object), rules: [{ backendRefs: [backend('reviews')] }] }
    }
    const updated = await objects.replace(changed as Route)
    expect(updated.metadata?.generation).toBe(2)
    await api.waitFor(() => statusOf()?.parents[0].conditions[0].observedGeneration === 2)
    const conflict = await apiError(() => objects.replace({ ...(updated as Route) }))
    expect(conflict.code).toBe(409)
  })

  it('reports a backend Service that does not exist, and resolves it once the Service exists', async () => {
    api.seed([service('reviews-v1')])
    await objects.create(httpRoute([{ backendRefs: [backend('reviews-v1'), backend('reviews-v9')] }]))
    await api.waitFor(() => statusOf() !== undefined)
    expect(statusOf()?.parents[0].conditions[1]).toMatchObject({
      type: 'ResolvedRefs',
      status: 'False',
      reason: 'BackendNotFound',
      message: 'backend(reviews-v9.default.svc.cluster.local) not found'
    })
    api.seed([service('reviews-v9')])
    await api.waitFor(() => statusOf()?.parents[0].conditions[1].status === 'True')
  })

  it('refuses a route it is told to, and can be paused and resumed', async () => {
    api.seed([service('reviews')])
    api.refuseRoute('default', 'reviews', {
      reason: 'NotAllowedByListeners',
      message: 'no listener allows it'
    })
    await objects.create(httpRoute([{ backendRefs: [backend('reviews')] }]))
    await api.waitFor(() => statusOf() !== undefined)
    expect(statusOf()?.parents[0].conditions[0]).toMatchObject({
      type: 'Accepted',
      status: 'False',
      reason: 'NotAllowedByListeners',
      message: 'no listener allows it'
    })
    api.pauseRouteStatus()
    api.refuseRoute('default', 'reviews', undefined)
    const writes = api.routeStatusWrites()
    await new Promise(resolve => setTimeout(resolve, 150))
    expect(api.routeStatusWrites()).toBe(writes)
    api.resumeRouteStatus()
    await api.waitFor(() => statusOf()?.parents[0].conditions[0].status === 'True')
  })
})

describe('a cluster with the Gateway API at v1beta1 only', () => {
  beforeEach(() => start({ unservedVersions: ['gateway.networking.k8s.io/v1'] }))

  it('answers v1 as an unserved version (404, the path not found) and serves v1beta1', async () => {
    const v1 = await raw(api, 'GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes')
    expect(v1.status).toBe(404)
    expect(v1.json().message).toBe('the server could not find the requested resource')
    const v1beta1 = await raw(
      api,
      'GET',
      '/apis/gateway.networking.k8s.io/v1beta1/namespaces/default/httproutes'
    )
    expect(v1beta1.status).toBe(200)
    const group = (await raw(api, 'GET', '/apis/gateway.networking.k8s.io')).json()
    expect(group.versions).toEqual([
      { groupVersion: 'gateway.networking.k8s.io/v1beta1', version: 'v1beta1' }
    ])
  })
})
