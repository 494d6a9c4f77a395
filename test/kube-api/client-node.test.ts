/** The Kubernetes API double driven by @kubernetes/client-node 1.4, the way the product drives a real cluster. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import * as k8s from '@kubernetes/client-node'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { apiError, raw } from './helpers.js'

const V1 = 'networking.istio.io/v1'
const ROUTE_V1 = [{ destination: { host: 'reviews', subset: 'v1' } }]

/** client-node's metadata fields, plus the double's KubeObject shape, so both APIs accept it. */
type VirtualServiceObject = KubeObject & {
  metadata: k8s.V1ObjectMeta & { name: string; namespace: string }
  spec: Record<string, unknown>
}

function virtualService(
  name = 'reviews',
  spec: Record<string, unknown> = { hosts: ['reviews'], http: [{ route: ROUTE_V1 }] }
): VirtualServiceObject {
  return { apiVersion: V1, kind: 'VirtualService', metadata: { name, namespace: 'default' }, spec }
}

function deployment(name: string, labels: Record<string, string>, replicas = 2): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'example/app:1.0' }] } }
    }
  }
}

let api: KubeApi
let kc: k8s.KubeConfig
let objects: k8s.KubernetesObjectApi

beforeEach(async () => {
  api = await startKubeApi()
  kc = new k8s.KubeConfig()
  kc.loadFromString(api.kubeconfig())
  objects = k8s.KubernetesObjectApi.makeApiClient(kc)
})
afterEach(() => api.close())

describe('VirtualService through KubernetesObjectApi', () => {
  it('creates, reads at another version, replaces, merge-patches, json-patches and deletes', async () => {
    const created = await objects.create(virtualService())
    expect(created.apiVersion).toBe(V1)
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.metadata?.generation).toBe(1)
    expect(created.metadata?.creationTimestamp).toBeDefined()
    const rv1 = Number(created.metadata?.resourceVersion)

    // one storage: the object created at v1 is read at v1alpha3 and v1beta1 with the apiVersion rewritten
    const old = await objects.read({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' }
    })
    expect(old.apiVersion).toBe('networking.istio.io/v1alpha3')
    expect((old as KubeObject).spec).toEqual(virtualService().spec)
    expect(api.get('networking.istio.io/v1beta1', 'VirtualService', 'default', 'reviews')?.apiVersion).toBe(
      'networking.istio.io/v1beta1'
    )

    const current = (await objects.read(virtualService())) as KubeObject
    const replaced = (await objects.replace({
      ...current,
      spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] }
    })) as KubeObject
    expect(Number(replaced.metadata.resourceVersion)).toBeGreaterThan(rv1)
    expect(replaced.metadata.generation).toBe(2)
    expect(replaced.metadata.uid).toBe(created.metadata?.uid)

    // metadata-only change: resourceVersion moves, generation does not
    const annotated = (await objects.patch(
      {
        apiVersion: V1,
        kind: 'VirtualService',
        metadata: { name: 'reviews', namespace: 'default', annotations: { team: 'books' } }
      },
      undefined,
      undefined,
      undefined,
      undefined,
      k8s.PatchStrategy.MergePatch
    )) as KubeObject
    expect(annotated.metadata.annotations).toEqual({ team: 'books' })
    expect(annotated.metadata.generation).toBe(2)
    expect(Number(annotated.metadata.resourceVersion)).toBeGreaterThan(
      Number(replaced.metadata.resourceVersion)
    )

    // RFC 6902 (CustomObjectsApi sends application/json-patch+json), with a passing `test`
    const custom = kc.makeApiClient(k8s.CustomObjectsApi)
    const jsonPatched = (await custom.patchNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      namespace: 'default',
      plural: 'virtualservices',
      name: 'reviews',
      body: [
        { op: 'test', path: '/spec/http/0/route/0/destination/subset', value: 'v2' },
        { op: 'add', path: '/spec/http/0/route/0/weight', value: 90 },
        {
          op: 'add',
          path: '/spec/http/0/route/-',
          value: { destination: { host: 'reviews', subset: 'v3' }, weight: 10 }
        }
      ]
    })) as KubeObject
    expect((jsonPatched.spec as { http: { route: unknown[] }[] }).http[0].route).toEqual([
      { destination: { host: 'reviews', subset: 'v2' }, weight: 90 },
      { destination: { host: 'reviews', subset: 'v3' }, weight: 10 }
    ])
    expect(jsonPatched.metadata.generation).toBe(3)
    expect(api.requests.at(-1)?.contentType).toBe('application/json-patch+json')

    // a failing `test` op is 422 and changes nothing
    const failed = await apiError(() =>
      custom.patchNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: 'default',
        plural: 'virtualservices',
        name: 'reviews',
        body: [
          { op: 'test', path: '/spec/hosts/0', value: 'ratings' },
          { op: 'replace', path: '/spec/hosts/0', value: 'ratings' }
        ]
      })
    )
    expect(failed.code).toBe(422)
    expect(failed.body.reason).toBe('Invalid')
    expect(api.get(V1, 'VirtualService', 'default', 'reviews')?.spec).toMatchObject({ hosts: ['reviews'] })

    const deleted = await objects.delete(virtualService())
    expect(deleted).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'reviews', group: 'networking.istio.io', kind: 'virtualservices' }
    })
    expect(api.get(V1, 'VirtualService', 'default', 'reviews')).toBeUndefined()
    const gone = await apiError(() => objects.read(virtualService()))
    expect(gone.code).toBe(404)
    expect(gone.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      message: 'virtualservices.networking.istio.io "reviews" not found',
      details: { name: 'reviews', group: 'networking.istio.io', kind: 'virtualservices' },
      code: 404
    })
    const again = await apiError(() => objects.delete(virtualService()))
    expect(again.code).toBe(404)
  })

  it('answers a replace with a stale resourceVersion with 409 Conflict, worded like the apiserver', async () => {
    await objects.create(virtualService())
    const read = (await objects.read(virtualService())) as KubeObject
    api.put({
      ...(read as KubeObject),
      metadata: { ...read.metadata },
      spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }] }
    })
    const err = await apiError(() => objects.replace(read))
    expect(err.code).toBe(409)
    expect(err.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message:
        'Operation cannot be fulfilled on virtualservices.networking.istio.io "reviews": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'reviews', group: 'networking.istio.io', kind: 'virtualservices' }
    })
    // a patch carrying the stale resourceVersion conflicts too
    const patchErr = await apiError(() =>
      objects.patch(
        {
          apiVersion: V1,
          kind: 'VirtualService',
          metadata: {
            name: 'reviews',
            namespace: 'default',
            resourceVersion: read.metadata.resourceVersion as string
          }
        },
        undefined,
        undefined,
        undefined,
        undefined,
        k8s.PatchStrategy.MergePatch
      )
    )
    expect(patchErr.code).toBe(409)
    expect(patchErr.body.reason).toBe('Conflict')
  })

  it('requires metadata.resourceVersion to replace a custom resource (422), not a built-in', async () => {
    await objects.create(virtualService())
    const err = await apiError(() => objects.replace(virtualService()))
    expect(err.code).toBe(422)
    expect(err.body.reason).toBe('Invalid')
    expect(err.body.message).toBe(
      'VirtualService.networking.istio.io "reviews" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update'
    )
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default' },
      data: { a: '1' }
    }
    await objects.create(cm)
    const replaced = (await objects.replace({ ...cm, data: { a: '2' } })) as KubeObject
    expect(replaced.data).toEqual({ a: '2' })
  })

  it('refuses a strategic merge patch on a custom resource with 415, and accepts it on a Deployment', async () => {
    await objects.create(virtualService())
    // KubernetesObjectApi.patch defaults to application/strategic-merge-patch+json
    const err = await apiError(() => objects.patch({ ...virtualService(), spec: { hosts: ['x'] } }))
    expect(err.code).toBe(415)
    expect(err.body).toMatchObject({
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'
    })
    api.seed([deployment('web', { app: 'web' })])
    const patched = (await objects.patch({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'example/sidecar:1' }] } } }
    })) as KubeObject
    const containers = (
      (patched.spec as Record<string, unknown>).template as { spec: { containers: { name: string }[] } }
    ).spec.containers
    // strategic merge: containers merge by name instead of being replaced
    expect(containers.map(c => c.name)).toEqual(['app', 'sidecar'])
  })

  it('persists nothing on dryRun=All, while validating and answering as if it had', async () => {
    const before = api.list(V1, 'VirtualService', 'default').length
    const dry = (await objects.create(virtualService('dry'), undefined, 'All')) as KubeObject
    expect(dry.metadata.name).toBe('dry')
    expect(api.get(V1, 'VirtualService', 'default', 'dry')).toBeUndefined()
    expect(api.list(V1, 'VirtualService', 'default')).toHaveLength(before)

    const bad = await apiError(() =>
      objects.create(
        virtualService('dry', {
          hosts: ['r'],
          http: [{ route: [{ destination: { host: 'r' }, weight: 'heavy' }] }]
        }),
        undefined,
        'All'
      )
    )
    expect(bad.code).toBe(422)

    await objects.create(virtualService())
    const stored = api.get(V1, 'VirtualService', 'default', 'reviews')!
    const current = (await objects.read(virtualService())) as KubeObject
    const dryReplace = (await objects.replace(
      { ...current, spec: { hosts: ['changed'], http: [{ route: ROUTE_V1 }] } },
      undefined,
      'All'
    )) as KubeObject
    expect(dryReplace.spec).toMatchObject({ hosts: ['changed'] })
    await objects.patch(
      {
        apiVersion: V1,
        kind: 'VirtualService',
        metadata: { name: 'reviews', namespace: 'default', labels: { a: 'b' } }
      },
      undefined,
      'All',
      undefined,
      undefined,
      k8s.PatchStrategy.MergePatch
    )
    await objects.delete(virtualService(), undefined, 'All')
    expect(api.get(V1, 'VirtualService', 'default', 'reviews')).toEqual(stored)

    const dryWrites = api.requests.filter(r => r.dryRun)
    expect(dryWrites.map(r => r.verb)).toEqual(['create', 'create', 'update', 'patch', 'delete'])
    expect(dryWrites.every(r => r.query.dryRun === 'All')).toBe(true)
    expect(api.writes().map(r => r.verb)).toEqual(['create'])
  })
})

describe('admission', () => {
  it('validates custom resources against the CRD schema: 422 naming the field', async () => {
    const err = await apiError(() =>
      objects.create(
        virtualService('bad', {
          hosts: ['reviews'],
          http: [{ route: [{ destination: { host: 'reviews' }, weight: '100' }] }]
        })
      )
    )
    expect(err.code).toBe(422)
    expect(err.body.reason).toBe('Invalid')
    expect(err.body.message).toBe(
      'VirtualService.networking.istio.io "bad" is invalid: spec.http[0].route[0].weight: Invalid value: "string": spec.http[0].route[0].weight in body must be of type integer: "string"'
    )
    expect((err.body.details as { causes: unknown[] }).causes).toEqual([
      expect.objectContaining({ field: 'spec.http[0].route[0].weight' })
    ])
    // HTTPRoute at v1 against the Gateway API schema
    const route = await apiError(() =>
      objects.create({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: { rules: [{ backendRefs: [{ name: 'reviews', port: 'http' }] }] }
      })
    )
    expect(route.code).toBe(422)
    expect(route.body.message).toContain('spec.rules[0].backendRefs[0].port')
  })

  it("applies Istio's validating webhook: total weight 0 and negative weights are denied", async () => {
    const zero = await apiError(() =>
      objects.create(
        virtualService('zero', {
          hosts: ['reviews'],
          http: [
            {
              route: [
                { destination: { host: 'reviews', subset: 'v1' }, weight: 0 },
                { destination: { host: 'reviews', subset: 'v2' }, weight: 0 }
              ]
            }
          ]
        })
      )
    )
    // a webhook denial: 400 with the webhook's name, as the apiserver relays it
    expect(zero.code).toBe(400)
    expect(zero.body).toMatchObject({ kind: 'Status', status: 'Failure', code: 400 })
    expect(zero.body.message).toBe(
      'admission webhook "validation.istio.io" denied the request: configuration is invalid: total destination weight = 0'
    )
    const negative = await apiError(() =>
      objects.create(
        virtualService('neg', {
          hosts: ['reviews'],
          http: [
            {
              route: [
                { destination: { host: 'reviews', subset: 'v1' }, weight: 110 },
                { destination: { host: 'reviews', subset: 'v2' }, weight: -10 }
              ]
            }
          ]
        })
      )
    )
    expect(negative.code).toBe(400)
    expect(negative.body.message).toContain('weight -10 < 0')
    // weights need not total 100 on modern Istio, and a single destination may carry weight 0
    await objects.create(
      virtualService('ok', {
        hosts: ['reviews'],
        http: [
          {
            route: [
              { destination: { host: 'reviews', subset: 'v1' }, weight: 30 },
              { destination: { host: 'reviews', subset: 'v2' }, weight: 30 }
            ]
          }
        ]
      })
    )
    // an invalid RE2 header regex is refused by the webhook too
    const regex = await apiError(() =>
      objects.create(
        virtualService('regex', {
          hosts: ['reviews'],
          http: [{ match: [{ headers: { cookie: { regex: '(unclosed' } } }], route: ROUTE_V1 }]
        })
      )
    )
    expect(regex.code).toBe(400)
    expect(regex.body.message).toContain('headers.cookie')
  })

  it('validates RouteRule as Istio 0.2-0.7 Pilot did', async () => {
    const rr = (spec: Record<string, unknown>, name = 'reviews-default') => ({
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'RouteRule',
      metadata: { name, namespace: 'default' },
      spec
    })
    const ok = (await objects.create(
      rr({
        destination: { name: 'reviews' },
        precedence: 2,
        match: { request: { headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } } },
        route: [
          { labels: { version: 'v1' }, weight: 50 },
          { labels: { version: 'v2' }, weight: 50 }
        ]
      })
    )) as KubeObject
    expect(ok.metadata.generation).toBe(1)
    const cases: [Record<string, unknown>, string][] = [
      [{ route: [{ labels: { version: 'v1' } }] }, 'route rule must have a destination service'],
      [{ destination: {}, route: [{ labels: { version: 'v1' } }] }, 'destination.name'],
      [
        { destination: { name: 'reviews' }, route: [{ labels: { version: 'v1' }, weight: 150 }] },
        'percentage 150 is not in range 0..100'
      ],
      [
        {
          destination: { name: 'reviews' },
          route: [
            { labels: { version: 'v1' }, weight: 50 },
            { labels: { version: 'v2' }, weight: 40 }
          ]
        },
        'route weights total 90 (must total 100)'
      ],
      [
        { destination: { name: 'reviews' }, match: { request: { headers: { Cookie: { exact: 'a' } } } } },
        'header name "Cookie" invalid: must be in lower case'
      ],
      [
        {
          destination: { name: 'reviews' },
          match: { request: { headers: { cookie: { exact: 'a', prefix: 'b' } } } }
        },
        'exactly one of exact, prefix or regex'
      ],
      [{ destination: { name: 'reviews' }, precedence: 1.5 }, 'precedence must be an integer']
    ]
    for (const [i, [spec, message]] of cases.entries()) {
      const err = await apiError(() => objects.create(rr(spec, `bad-${i}`)))
      expect(err.code).toBe(400)
      expect(err.body.message).toContain('admission webhook "pilot.validation.istio.io" denied the request')
      expect(err.body.message).toContain(message)
    }
  })

  it('limits annotations to 262144 bytes, checks names, and refuses objects in a missing namespace', async () => {
    const big = await apiError(() =>
      objects.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'big', namespace: 'default', annotations: { state: 'x'.repeat(262144) } }
      })
    )
    expect(big.code).toBe(422)
    expect(big.body.message).toBe(
      'ConfigMap "big" is invalid: metadata.annotations: Too long: must have at most 262144 bytes'
    )
    const tooBigVs = await apiError(() =>
      objects.patch(
        { apiVersion: V1, kind: 'VirtualService', metadata: { name: 'nope', namespace: 'default' } },
        undefined,
        undefined,
        undefined,
        undefined,
        k8s.PatchStrategy.MergePatch
      )
    )
    expect(tooBigVs.code).toBe(404)

    const name = await apiError(() => objects.create(virtualService('Bad_Name')))
    expect(name.code).toBe(422)
    expect(name.body.message).toContain(
      'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'
    )

    const ns = await apiError(() =>
      objects.create({ ...virtualService(), metadata: { name: 'reviews', namespace: 'missing' } })
    )
    expect(ns.code).toBe(404)
    expect(ns.body).toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "missing" not found',
      details: { name: 'missing', kind: 'namespaces' }
    })

    await objects.create(virtualService())
    const dup = await apiError(() => objects.create(virtualService()))
    expect(dup.code).toBe(409)
    expect(dup.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'virtualservices.networking.istio.io "reviews" already exists'
    })
  })

  it('prunes fields the CRD schema does not know, like a structural schema', async () => {
    const created = (await objects.create(
      virtualService('pruned', { hosts: ['reviews'], http: [{ route: ROUTE_V1, weightz: 5 }], bogus: true })
    )) as KubeObject
    expect(created.spec).toEqual({ hosts: ['reviews'], http: [{ route: ROUTE_V1 }] })
  })
})

describe('Deployments', () => {
  it('roll out to Available with pods named, labelled and injected like a real cluster', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api)
    const core = kc.makeApiClient(k8s.CoreV1Api)
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('reviews-v2', { app: 'reviews', version: 'v2' }) as k8s.V1Deployment
    })
    await api.waitFor(
      () =>
        (api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')?.status as { availableReplicas?: number })
          ?.availableReplicas === 2
    )
    const dep = await apps.readNamespacedDeployment({ namespace: 'default', name: 'reviews-v2' })
    expect(dep.status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      updatedReplicas: 2
    })
    const conditions = Object.fromEntries((dep.status?.conditions ?? []).map(c => [c.type, c]))
    expect(conditions.Available).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' })
    expect(conditions.Progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' })

    const pods = await core.listNamespacedPod({
      namespace: 'default',
      labelSelector: 'app=reviews,version=v2'
    })
    expect(pods.items).toHaveLength(2)
    for (const p of pods.items) {
      expect(p.metadata?.name).toMatch(/^reviews-v2-[a-z0-9]+-[a-z0-9]{5}$/)
      expect(p.metadata?.labels).toMatchObject({ app: 'reviews', version: 'v2' })
      expect(p.spec?.containers.map(c => c.name)).toEqual(['app', 'istio-proxy'])
      expect(p.status?.phase).toBe('Running')
      expect(p.status?.containerStatuses?.every(c => c.ready && c.restartCount === 0)).toBe(true)
    }

    api.setDeploymentHealth('default', 'reviews-v2', { available: false, restarts: 3 })
    const unavailable = await apps.readNamespacedDeployment({ namespace: 'default', name: 'reviews-v2' })
    const avail = unavailable.status?.conditions?.find(c => c.type === 'Available')
    expect(avail).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' })
    expect(avail?.message).toBeTruthy()
    expect(unavailable.status?.availableReplicas ?? 0).toBe(0)
    const sick = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'version=v2' })
    expect(
      sick.items.map(p => p.status?.containerStatuses?.find(c => c.name === 'app')?.restartCount)
    ).toEqual([3, 3])

    // an update bumps generation; the new status is observed after the rollout delay
    const updated = await apps.patchNamespacedDeployment(
      { namespace: 'default', name: 'reviews-v2', body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)
    )
    expect(updated.metadata?.generation).toBe(2)
    expect(updated.status?.observedGeneration).toBe(1)
    await api.waitFor(
      () =>
        (api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')?.status as { observedGeneration?: number })
          .observedGeneration === 2
    )
    expect(api.list('v1', 'Pod', 'default')).toHaveLength(1)

    await apps.deleteNamespacedDeployment({ namespace: 'default', name: 'reviews-v2' })
    expect(api.list('v1', 'Pod', 'default')).toHaveLength(0)
    expect(api.list('apps/v1', 'ReplicaSet', 'default')).toHaveLength(0)
  })

  it('keeps a seeded Deployment unavailable when told to', async () => {
    api.setDeploymentHealth('default', 'canary', { available: false })
    api.seed([deployment('canary', { app: 'canary' }, 1)])
    await api.waitFor(
      () =>
        (api.get('apps/v1', 'Deployment', 'default', 'canary')?.status as { observedGeneration?: number })
          ?.observedGeneration === 1
    )
    const status = api.get('apps/v1', 'Deployment', 'default', 'canary')?.status as {
      conditions: { type: string; status: string; reason: string }[]
    }
    expect(status.conditions.find(c => c.type === 'Available')).toMatchObject({
      status: 'False',
      reason: 'MinimumReplicasUnavailable'
    })
  })
})

describe('list', () => {
  beforeEach(() => {
    api.seed(`
apiVersion: v1
kind: ConfigMap
metadata: {name: a, labels: {app: reviews, version: v1}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, labels: {app: reviews, version: v2}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, labels: {app: ratings}}
`)
  })

  it('filters by label selector (=, !=, in, notin, exists, !exists) and carries the list resourceVersion', async () => {
    const names = async (labelSelector?: string) => {
      const l = await objects.list(
        'v1',
        'ConfigMap',
        'default',
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector
      )
      expect(l.kind).toBe('ConfigMapList')
      expect(Number(l.metadata?.resourceVersion)).toBeGreaterThan(0)
      return l.items.map(i => i.metadata?.name)
    }
    expect(await names()).toEqual(['a', 'b', 'c'])
    expect(await names('app=reviews')).toEqual(['a', 'b'])
    expect(await names('app==reviews,version!=v1')).toEqual(['b'])
    expect(await names('version in (v1,v3)')).toEqual(['a'])
    expect(await names('version notin (v1)')).toEqual(['b', 'c'])
    expect(await names('version')).toEqual(['a', 'b'])
    expect(await names('!version')).toEqual(['c'])
    const bad = await apiError(() =>
      objects.list('v1', 'ConfigMap', 'default', undefined, undefined, undefined, undefined, 'a in b')
    )
    expect(bad.code).toBe(400)
  })

  it('lists custom resources with apiVersion/kind on each item and built-ins without, like the apiserver', async () => {
    await objects.create(virtualService())
    const vs = await raw(api, 'GET', '/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices')
    expect(vs.json()).toMatchObject({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'VirtualServiceList',
      items: [{ apiVersion: 'networking.istio.io/v1alpha3', kind: 'VirtualService' }]
    })
    const cms = (await raw(api, 'GET', '/api/v1/namespaces/default/configmaps?limit=2')).json()
    expect((cms.items as Record<string, unknown>[])[0].kind).toBeUndefined()
    expect(cms.items).toHaveLength(2)
    expect((cms.metadata as Record<string, unknown>).continue).toBeTruthy()
  })
})

describe('server-side apply', () => {
  it('requires a fieldManager, creates, and reports conflicts with other managers unless forced', async () => {
    const applyDoc = (subset: string) =>
      `apiVersion: ${V1}\nkind: VirtualService\nmetadata:\n  name: reviews\n  namespace: default\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: ${subset}}\n`
    const path = '/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews'
    const noManager = await raw(api, 'PATCH', path, {
      body: applyDoc('v1'),
      contentType: 'application/apply-patch+yaml'
    })
    expect(noManager.status).toBe(422)
    const created = await raw(api, 'PATCH', `${path}?fieldManager=canary`, {
      body: applyDoc('v1'),
      contentType: 'application/apply-patch+yaml'
    })
    expect(created.status).toBe(201)
    expect(
      (created.json().metadata as { managedFields: { manager: string; operation: string }[] }).managedFields
    ).toEqual([expect.objectContaining({ manager: 'canary', operation: 'Apply' })])
    // another writer changes the routes
    await raw(api, 'PATCH', `${path}?fieldManager=someone-else`, {
      body: { spec: { http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] } },
      contentType: 'application/merge-patch+json'
    })
    const conflict = await raw(api, 'PATCH', `${path}?fieldManager=canary`, {
      body: applyDoc('v2'),
      contentType: 'application/apply-patch+yaml'
    })
    expect(conflict.status).toBe(409)
    expect(conflict.json()).toMatchObject({
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "someone-else": .spec.http'
    })
    const forced = await raw(api, 'PATCH', `${path}?fieldManager=canary&force=true`, {
      body: applyDoc('v2'),
      contentType: 'application/apply-patch+yaml'
    })
    expect(forced.status).toBe(200)
    expect(api.get(V1, 'VirtualService', 'default', 'reviews')?.spec).toEqual({
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }]
    })
  })
})

describe('faults, auth and the request log', () => {
  it('injects a status with Retry-After on the nth matching request, for `times` requests', async () => {
    await objects.create(virtualService())
    api.injectFault({
      method: 'GET',
      path: /virtualservices\/reviews$/,
      nth: 2,
      times: 2,
      status: 429,
      retryAfterSeconds: 3
    })
    await objects.read(virtualService()) // 1st: passes
    for (let i = 0; i < 2; i++) {
      const err = await apiError(() => objects.read(virtualService()))
      expect(err.code).toBe(429)
      expect(err.headers['retry-after']).toBe('3')
      expect(err.body).toMatchObject({
        kind: 'Status',
        reason: 'TooManyRequests',
        code: 429,
        details: { retryAfterSeconds: 3 }
      })
    }
    await objects.read(virtualService()) // 4th: passes again
    const custom = {
      method: 'PUT',
      path: '/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews',
      status: 500,
      body: { kind: 'Status', message: 'etcd is down' }
    }
    api.injectFault(custom)
    const current = (await objects.read(virtualService())) as KubeObject
    const err = await apiError(() => objects.replace(current))
    expect(err.code).toBe(500)
    expect(err.body.message).toBe('etcd is down')
    expect(api.writes()).toHaveLength(1) // only the create
  })

  it('drops the connection and delays responses', async () => {
    api.injectFault({ path: '/api/v1/namespaces/default/configmaps', drop: true })
    await expect(objects.list('v1', 'ConfigMap', 'default')).rejects.toThrow()
    expect(api.requests.at(-1)).toMatchObject({ path: '/api/v1/namespaces/default/configmaps', status: 0 })
    api.clearFaults()
    api.injectFault({ path: '/api/v1/namespaces/default/configmaps', delayMs: 300 })
    const t0 = Date.now()
    await objects.list('v1', 'ConfigMap', 'default')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
  })

  it('answers 401 Status without a token or with a wrong one, and 404 Status for unknown paths', async () => {
    for (const token of [null, 'wrong']) {
      const res = await raw(api, 'GET', '/api/v1/namespaces/default/configmaps', { token })
      expect(res.status).toBe(401)
      expect(res.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401
      })
    }
    const unknown = await raw(api, 'GET', '/apis/example.com/v1/widgets')
    expect(unknown.status).toBe(404)
    expect(unknown.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 })
  })

  it('serves discovery with plural, singular, namespaced, kind, verbs and short names', async () => {
    const groups = (await raw(api, 'GET', '/apis')).json() as {
      groups: { name: string; preferredVersion: { version: string } }[]
    }
    expect(groups.groups.find(g => g.name === 'networking.istio.io')?.preferredVersion.version).toBe('v1')
    const list = (await raw(api, 'GET', '/apis/networking.istio.io/v1beta1')).json() as {
      resources: Record<string, unknown>[]
    }
    expect(list.resources.find(r => r.name === 'virtualservices')).toMatchObject({
      singularName: 'virtualservice',
      namespaced: true,
      kind: 'VirtualService',
      shortNames: ['vs'],
      verbs: expect.arrayContaining(['get', 'list', 'create', 'update', 'patch', 'delete'])
    })
    expect(list.resources.find(r => r.name === 'destinationrules')).toMatchObject({ shortNames: ['dr'] })
    const version = (await raw(api, 'GET', '/version')).json()
    expect(version.major).toBe('1')
  })

  it('records method, path, query, content type, body, verb, resource, group, namespace, name, dryRun and status', async () => {
    api.clearRequests()
    await objects.create(virtualService(), undefined, undefined, 'canary-action')
    const rec = api.requests.find(r => r.verb === 'create')!
    expect(rec).toMatchObject({
      method: 'POST',
      path: '/apis/networking.istio.io/v1/namespaces/default/virtualservices',
      query: { fieldManager: 'canary-action' },
      contentType: 'application/json',
      dryRun: false,
      status: 201,
      verb: 'create',
      resource: 'virtualservices',
      group: 'networking.istio.io',
      namespace: 'default'
    })
    expect((rec.body as KubeObject).metadata.name).toBe('reviews')
    expect(api.requests.find(r => r.verb === 'discovery')?.path).toBe('/apis/networking.istio.io/v1')
    await objects.read(virtualService())
    expect(api.requests.at(-1)).toMatchObject({
      method: 'GET',
      verb: 'get',
      name: 'reviews',
      resource: 'virtualservices',
      status: 200
    })
    const cm = await apiError(() =>
      objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope', namespace: 'default' } })
    )
    expect(cm.code).toBe(404)
    expect(api.requests.at(-1)).toMatchObject({ verb: 'get', group: '', resource: 'configmaps', status: 404 })
    expect(api.writes()).toHaveLength(1)
    api.clearRequests()
    expect(api.requests).toHaveLength(0)
  })
})

describe('watch', () => {
  let watchApi: KubeApi
  beforeAll(async () => {
    watchApi = await startKubeApi({ rolloutDelayMs: 10 })
  })
  afterAll(() => watchApi.close())

  it('streams ADDED / MODIFIED / DELETED events to client-node Watch', async () => {
    const wkc = new k8s.KubeConfig()
    wkc.loadFromString(watchApi.kubeconfig())
    const events: string[] = []
    const watch = new k8s.Watch(wkc)
    const ctrl = await watch.watch(
      '/apis/networking.istio.io/v1/namespaces/default/virtualservices',
      {},
      (type, obj) => events.push(`${type} ${obj.metadata.name}`),
      () => {}
    )
    watchApi.seed([virtualService('w')])
    watchApi.put({
      ...virtualService('w'),
      metadata: { name: 'w', namespace: 'default', labels: { x: 'y' } }
    })
    watchApi.remove(V1, 'VirtualService', 'default', 'w')
    await watchApi.waitFor(() => events.length >= 3, 5000)
    ctrl.abort()
    expect(events).toEqual(['ADDED w', 'MODIFIED w', 'DELETED w'])
  })
})

describe('options and kubeconfig', () => {
  it('delays every response by latencyMs and names the context and namespace as asked', async () => {
    const slow = await startKubeApi({ latencyMs: 150, token: 'fixed-token' })
    try {
      expect(slow.token).toBe('fixed-token')
      const skc = new k8s.KubeConfig()
      skc.loadFromString(slow.kubeconfig({ context: 'canary', namespace: 'shop' }))
      expect(skc.getCurrentContext()).toBe('canary')
      expect(skc.getContextObject('canary')?.namespace).toBe('shop')
      expect(skc.getCurrentCluster()?.server).toBe(slow.url)
      const t0 = Date.now()
      await skc.makeApiClient(k8s.CoreV1Api).listNamespace()
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
      // the namespaces every cluster has
      expect(slow.list('v1', 'Namespace').map(n => n.metadata.name)).toEqual(
        expect.arrayContaining(['default', 'kube-system', 'istio-system'])
      )
    } finally {
      await slow.close()
    }
  })
})
