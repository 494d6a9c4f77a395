/**
 * A Kubernetes API server test double: HTTPS on 127.0.0.1 with a throwaway CA, bearer-token auth, discovery, the
 * verbs of the built-in kinds the product touches (Namespace, Service, Pod, ConfigMap, Secret, Deployment,
 * ReplicaSet) and of Istio / Gateway API custom resources, with the apiserver's validation, admission, patch
 * semantics, resourceVersion / generation bookkeeping, error Status objects, a simulated Deployment rollout and a
 * simulated Gateway API controller that writes HTTPRoute status.
 * Code that passes against it should work on a real cluster: where the two could differ, it errs towards the
 * real apiserver's behaviour (see README.md beside this file).
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import yaml from 'js-yaml'
import { ApiError } from './errors.js'
import { findByKind, parseApiVersion, RESOURCES } from './resources.js'
import type { RouteRefusal } from './route-controller.js'
import { KubeApiServer } from './server.js'
import { metaOf } from './store.js'
import { tlsMaterial } from './tls.js'
import { clone, isObj, sleep, type Obj } from './util.js'

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; [k: string]: unknown }
  [k: string]: unknown
}
export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  contentType?: string
  body?: unknown
  dryRun: boolean
  status: number
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'discovery' | 'other'
  /** lowercase plural resource, e.g. 'virtualservices'; group e.g. 'networking.istio.io' ('' for core) */
  resource?: string
  group?: string
  namespace?: string
  name?: string
  /** e.g. 'status' for /status requests */
  subresource?: string
}
export interface Fault {
  method?: string
  /** a string matches the request path exactly (with or without its query string); a RegExp is tested on the path */
  path: string | RegExp
  nth?: number /* 1-based among matching requests; default 1 */
  status?: number
  body?: unknown /* default: a Status object */
  retryAfterSeconds?: number
  delayMs?: number
  drop?: boolean /* destroy the socket without a response */
  times?: number /* how many consecutive matches (from nth) to hit; default 1 */
}
export interface KubeApiOptions {
  token?: string /* default random */
  rolloutDelayMs?: number /* default 50 */
  /** how long the Gateway API controller takes to write a route's status after a change; default 50 */
  routeStatusDelayMs?: number
  /** `group/version`s the cluster does not serve, e.g. ['gateway.networking.k8s.io/v1'] (older CRDs) */
  unservedVersions?: string[]
  latencyMs?: number /* injected delay before every response, default 0 */
}
export interface KubeApi {
  url: string // https://127.0.0.1:PORT
  token: string
  caData: string // base64 PEM
  kubeconfig(opts?: { context?: string; namespace?: string }): string // YAML, context name 'test' unless given
  writeKubeconfig(file: string): void
  /** Stores objects as if created (uid, resourceVersion, generation, creationTimestamp assigned; Deployments roll out; runs admission). */
  seed(objects: KubeObject[] | string /* multi-doc YAML */): void
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[]
  /** Direct write that bypasses admission and counts as another writer (bumps resourceVersion); for drift/conflict tests. */
  put(object: KubeObject): KubeObject
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void
  requests: RecordedRequest[]
  clearRequests(): void
  /** Writes = create/update/patch/delete requests that were not dry runs and succeeded (status < 400). */
  writes(): RecordedRequest[]
  injectFault(f: Fault): void
  clearFaults(): void
  /** Deployment behaviour: keep it unavailable, set container restart counts of its pods. */
  setDeploymentHealth(namespace: string, name: string, h: { available?: boolean; restarts?: number }): void
  /** The Gateway API controller: refuse a route (`Accepted=False`) until called again without a refusal. */
  refuseRoute(namespace: string, name: string, refusal?: RouteRefusal): void
  /** Stops the Gateway API controller's status writes until `resumeRouteStatus` (changes meanwhile are kept). */
  pauseRouteStatus(): void
  resumeRouteStatus(): void
  /** Route status writes the controller made so far. */
  routeStatusWrites(): number
  /** Resolves when predicate(state) is true (polls cheaply, rejects after timeoutMs, default 10000). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>
  /**
   * Resolves when every Deployment in the namespace is Available, as they are by the time a workflow runs: a run
   * started at once can reach the double before it has rolled out what was just seeded.
   */
  deploymentsAvailable(namespace?: string): Promise<void>
  close(): Promise<void>
}

/** Options the standalone mode adds. */
export interface InternalOptions extends KubeApiOptions {
  port?: number
  controlPlane?: boolean
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete'])
const TEST_WRITER = 'kube-api-test-writer'

function resourceOrThrow(apiVersion: string, kind: string) {
  const r = findByKind(apiVersion, kind)
  if (!r) {
    const served = RESOURCES.map(
      x => `${x.group ? `${x.group}/` : ''}{${x.versions.join(',')}} ${x.kind}`
    ).join('; ')
    throw new Error(`kube-api: ${apiVersion} ${kind} is not served (served: ${served})`)
  }
  return r
}

function describeError(e: unknown, what: string): Error {
  if (e instanceof ApiError)
    return new Error(`kube-api: ${what}: ${e.code} ${e.status.reason ?? ''} ${e.message}`)
  return e as Error
}

export async function startKubeApi(opts: KubeApiOptions = {}): Promise<KubeApi> {
  return startKubeApiInternal(opts)
}

export async function startKubeApiInternal(opts: InternalOptions = {}): Promise<KubeApi> {
  const token = opts.token ?? randomBytes(24).toString('hex')
  const tls = await tlsMaterial()
  const srv = new KubeApiServer(
    {
      token,
      rolloutDelayMs: opts.rolloutDelayMs ?? 50,
      routeStatusDelayMs: opts.routeStatusDelayMs ?? 50,
      unservedVersions: opts.unservedVersions ?? [],
      latencyMs: opts.latencyMs ?? 0,
      port: opts.port,
      controlPlane: opts.controlPlane
    },
    tls
  )
  await srv.listen()
  const url = `https://127.0.0.1:${srv.port}`
  const caData = Buffer.from(tls.caCert).toString('base64')
  const store = srv.store

  const kubeconfig = (o: { context?: string; namespace?: string } = {}): string => {
    const name = o.context ?? 'test'
    const context: Obj = { cluster: name, user: name }
    if (o.namespace) context.namespace = o.namespace
    return yaml.dump(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name, cluster: { server: url, 'certificate-authority-data': caData } }],
        users: [{ name, user: { token } }],
        contexts: [{ name, context }],
        'current-context': name,
        preferences: {}
      },
      { lineWidth: -1 }
    )
  }

  const ensureNamespace = (ns: string | undefined) => {
    if (!ns) return
    const nsDef = srv.res('Namespace')
    if (!store.raw(nsDef, undefined, ns)) {
      store.create(nsDef, undefined, { metadata: { name: ns } }, 'v1', {
        dryRun: false,
        manager: TEST_WRITER,
        apiVersion: 'v1'
      })
    }
  }

  const seedOne = (o: Obj) => {
    if (!isObj(o) || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
      throw new Error(`kube-api: seed: not a Kubernetes object: ${JSON.stringify(o).slice(0, 200)}`)
    }
    const r = resourceOrThrow(o.apiVersion, o.kind)
    const { version } = parseApiVersion(o.apiVersion)
    const md = (isObj(o.metadata) ? o.metadata : {}) as Obj
    const ns = r.namespaced ? String(md.namespace ?? 'default') : undefined
    const name = String(md.name ?? '')
    ensureNamespace(ns)
    try {
      if (store.raw(r, ns, name)) {
        // seeding what already exists (e.g. the 'default' Namespace every cluster has) updates it
        const body = clone(o)
        metaOf(body).resourceVersion = (store.raw(r, ns, name)!.metadata as Obj).resourceVersion
        store.update(r, ns, name, body, version, {
          dryRun: false,
          manager: TEST_WRITER,
          apiVersion: o.apiVersion,
          keepStatus: o.status !== undefined && r.kind !== 'Deployment'
        })
      } else {
        const body = clone(o)
        if (r.kind === 'Deployment') delete body.status
        store.create(r, ns, body, version, {
          dryRun: false,
          manager: TEST_WRITER,
          apiVersion: o.apiVersion,
          keepStatus: o.status !== undefined && r.kind !== 'Deployment'
        })
      }
    } catch (e) {
      throw describeError(e, `seed ${o.kind} ${ns ? `${ns}/` : ''}${name}`)
    }
  }

  const api: KubeApi = {
    url,
    token,
    caData,
    kubeconfig,
    writeKubeconfig(file: string) {
      writeFileSync(file, kubeconfig(), { mode: 0o600 })
    },
    seed(objects) {
      const list: Obj[] =
        typeof objects === 'string'
          ? (yaml.loadAll(objects).filter(d => d !== null && d !== undefined) as Obj[])
          : (objects as unknown as Obj[])
      for (const o of list) {
        if (isObj(o) && typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
          for (const i of o.items as Obj[]) seedOne(i)
        } else seedOne(o)
      }
    },
    get(apiVersion, kind, namespace, name) {
      const r = resourceOrThrow(apiVersion, kind)
      const o = store.raw(r, r.namespaced ? (namespace ?? 'default') : undefined, name)
      return o ? (store.present(r, o, parseApiVersion(apiVersion).version) as KubeObject) : undefined
    },
    list(apiVersion, kind, namespace) {
      const r = resourceOrThrow(apiVersion, kind)
      return store
        .all(r, r.namespaced ? namespace : undefined)
        .map(o => store.present(r, o, parseApiVersion(apiVersion).version) as KubeObject)
    },
    put(object) {
      const r = resourceOrThrow(object.apiVersion, object.kind)
      const { version } = parseApiVersion(object.apiVersion)
      const ns = r.namespaced ? (object.metadata.namespace ?? 'default') : undefined
      const name = object.metadata.name
      ensureNamespace(ns)
      const body = clone(object) as unknown as Obj
      try {
        if (store.raw(r, ns, name)) {
          delete metaOf(body).resourceVersion
          return store.update(r, ns, name, body, version, {
            dryRun: false,
            manager: TEST_WRITER,
            apiVersion: object.apiVersion,
            bypass: true,
            keepStatus: body.status !== undefined
          }) as KubeObject
        }
        return store.create(r, ns, body, version, {
          dryRun: false,
          manager: TEST_WRITER,
          apiVersion: object.apiVersion,
          bypass: true,
          keepStatus: body.status !== undefined
        }) as KubeObject
      } catch (e) {
        throw describeError(e, `put ${object.kind} ${ns ? `${ns}/` : ''}${name}`)
      }
    },
    remove(apiVersion, kind, namespace, name) {
      const r = resourceOrThrow(apiVersion, kind)
      const ns = r.namespaced ? (namespace ?? 'default') : undefined
      if (!store.raw(r, ns, name)) return
      // a Namespace goes at once, with its contents (no Terminating phase for the test API)
      if (r.kind === 'Namespace') store.finishNamespace(name)
      else store.delete(r, ns, name, { dryRun: false })
    },
    get requests() {
      return srv.requests
    },
    clearRequests() {
      srv.requests.length = 0
    },
    writes() {
      return srv.requests.filter(r => WRITE_VERBS.has(r.verb) && !r.dryRun && r.status > 0 && r.status < 400)
    },
    injectFault(f) {
      srv.faults.push({ fault: { ...f }, seen: 0 })
    },
    clearFaults() {
      srv.faults = []
    },
    setDeploymentHealth(namespace, name, h) {
      srv.controller.setHealth(namespace, name, h)
    },
    refuseRoute(namespace, name, refusal) {
      srv.routes.refuse(namespace, name, refusal)
    },
    pauseRouteStatus() {
      srv.routes.pause()
    },
    resumeRouteStatus() {
      srv.routes.resume()
    },
    routeStatusWrites() {
      return srv.routes.statusWrites
    },
    async waitFor(predicate, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (predicate()) return
        if (Date.now() > deadline) throw new Error(`kube-api: waitFor timed out after ${timeoutMs}ms`)
        await sleep(10)
      }
    },
    deploymentsAvailable(namespace = 'default') {
      return api.waitFor(() =>
        api
          .list('apps/v1', 'Deployment', namespace)
          .every(deployment =>
            (
              (deployment.status as { conditions?: { type: string; status: string }[] } | undefined)
                ?.conditions ?? []
            ).some(condition => condition.type === 'Available' && condition.status === 'True')
          )
      )
    },
    close() {
      return srv.close()
    }
  }
  return api
}
