/** The HTTPS front: routing, auth, discovery, verbs, watch, tables, fault injection, latency and the request log. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { Socket } from 'node:net'
import yaml from 'js-yaml'
import { Controller } from './controller.js'
import { RouteController } from './route-controller.js'
import {
  ApiError,
  badRequest,
  defaultStatusFor,
  invalid,
  methodNotAllowed,
  status,
  unsupportedMediaType
} from './errors.js'
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js'
import {
  findByPlural,
  groups,
  groupVersion,
  qualifiedResource,
  RESOURCES,
  verbsOf,
  type ResourceDef
} from './resources.js'
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js'
import { serverSideApply } from './ssa.js'
import { metaOf, Store } from './store.js'
import type { TlsMaterial } from './tls.js'
import { clone, humanDuration, isObj, ordered, sleep, type Obj } from './util.js'
import type { Fault, RecordedRequest } from './index.js'
import { hasSchema, pruneAndDefault } from './schemas.js'

export const SERVER_VERSION = {
  major: '1',
  minor: '29',
  gitVersion: 'v1.29.4',
  gitCommit: '55019c83b0fd51ef4ced8c29eec2c4847f896e74',
  gitTreeState: 'clean',
  buildDate: '2024-04-16T15:03:00Z',
  goVersion: 'go1.21.9',
  compiler: 'gc',
  platform: 'linux/amd64'
}

const PATCH_JSON = 'application/json-patch+json'
const PATCH_MERGE = 'application/merge-patch+json'
const PATCH_SMP = 'application/strategic-merge-patch+json'
const PATCH_APPLY = 'application/apply-patch+yaml'

interface ActiveFault {
  fault: Fault
  seen: number
}

interface Watcher {
  r: ResourceDef
  ns?: string
  version: string
  labels: ReturnType<typeof parseLabelSelector>
  fields: ReturnType<typeof parseFieldSelector>
  res: ServerResponse
}

interface Route {
  r: ResourceDef
  version: string
  ns?: string
  name?: string
  sub?: string
}

export interface ServerOptions {
  token: string
  rolloutDelayMs: number
  routeStatusDelayMs: number
  /** `group/version`s not served (a cluster with older CRDs), e.g. `gateway.networking.k8s.io/v1`. */
  unservedVersions: string[]
  latencyMs: number
  port?: number
  controlPlane?: boolean
}

export class KubeApiServer {
  readonly store = new Store()
  readonly controller: Controller
  readonly routes: RouteController
  readonly requests: RecordedRequest[] = []
  faults: ActiveFault[] = []
  private readonly watchers = new Set<Watcher>()
  private readonly sockets = new Set<Socket>()
  private server?: Server
  port = 0

  constructor(
    readonly opts: ServerOptions,
    private readonly tls: TlsMaterial
  ) {
    this.controller = new Controller(this.store, () => this.opts.rolloutDelayMs)
    this.routes = new RouteController(this.store, () => this.opts.routeStatusDelayMs)
    this.store.listeners.add(e => {
      for (const w of this.watchers) {
        if (w.r !== e.r) continue
        const md = e.obj.metadata as Obj
        if (w.ns !== undefined && w.r.namespaced && md.namespace !== w.ns) continue
        if (!matchLabels(w.labels, md.labels as Record<string, string>)) continue
        if (!matchFields(w.fields, e.obj)) continue
        w.res.write(JSON.stringify({ type: e.type, object: this.wireObject(e.r, e.obj, w.version) }) + '\n')
      }
    })
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'istio-system']) {
      this.store.create(this.res('Namespace'), undefined, { metadata: { name: ns } }, 'v1', {
        dryRun: false,
        manager: 'kube-apiserver',
        apiVersion: 'v1',
        bypass: true
      })
    }
  }

  res(kind: string): ResourceDef {
    return RESOURCES.find(r => r.kind === kind)!
  }

  async listen(): Promise<void> {
    const server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      this.handle(req, res).catch(err => {
        if (!res.headersSent) {
          this.send(
            res,
            500,
            status(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`)
          )
        } else res.destroy()
      })
    })
    server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    server.on('secureConnection', s => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    // a dropped connection or a client that gives up mid-handshake is not an error for the test double
    server.on('tlsClientError', () => {})
    server.on('clientError', (_e, s) => s.destroy())
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve())
    })
    const addr = server.address()
    this.port = typeof addr === 'object' && addr ? addr.port : 0
  }

  async close(): Promise<void> {
    this.controller.close()
    this.routes.close()
    for (const w of this.watchers) w.res.end()
    this.watchers.clear()
    const server = this.server
    if (!server) return
    const closed = new Promise<void>(resolve => server.close(() => resolve()))
    server.closeAllConnections?.()
    for (const s of this.sockets) s.destroy()
    await closed
  }

  // ------------------------------------------------------------------ plumbing

  private send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return
    const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
    const isBin = Buffer.isBuffer(body)
    res.writeHead(code, {
      'Content-Type': isBin ? 'application/octet-stream' : 'application/json',
      'Cache-Control': 'no-cache, private',
      'Audit-Id': crypto.randomUUID(),
      'X-Kubernetes-Pf-Flowschema-Uid': '00000000-0000-0000-0000-000000000000',
      ...headers
    })
    res.end(text)
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      req.on('data', c => chunks.push(c as Buffer))
      req.on('end', () => resolve(Buffer.concat(chunks)))
      req.on('error', reject)
    })
  }

  private matchFault(method: string, path: string, search: string): Fault | undefined {
    let hit: Fault | undefined
    for (const af of this.faults) {
      const f = af.fault
      if (f.method && f.method.toUpperCase() !== method) continue
      const ok = typeof f.path === 'string' ? f.path === path || f.path === path + search : f.path.test(path)
      if (!ok) continue
      af.seen += 1
      const nth = f.nth ?? 1
      const times = f.times ?? 1
      if (!hit && af.seen >= nth && af.seen < nth + times) hit = f
    }
    return hit
  }

  private describe(
    method: string,
    path: string
  ): Pick<RecordedRequest, 'verb' | 'resource' | 'group' | 'namespace' | 'name'> & {
    subresource?: string
    watch?: boolean
  } {
    try {
      const rt = this.route(path)
      if (rt === 'discovery') return { verb: 'discovery' }
      if (!rt) return { verb: 'other' }
      const base = {
        resource: rt.r.plural,
        group: rt.r.group,
        namespace: rt.ns,
        name: rt.name,
        ...(rt.sub ? { subresource: rt.sub } : {})
      }
      const verb =
        method === 'GET'
          ? rt.name
            ? 'get'
            : 'list'
          : method === 'POST'
            ? 'create'
            : method === 'PUT'
              ? 'update'
              : method === 'PATCH'
                ? 'patch'
                : method === 'DELETE'
                  ? 'delete'
                  : 'other'
      return { verb, ...base } as ReturnType<KubeApiServer['describe']>
    } catch {
      return { verb: 'other' }
    }
  }

  /** Parses a resource path; 'discovery' for /api, /apis, group and group-version documents. */
  route(path: string): Route | 'discovery' | undefined {
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent)
    if (['/version', '/openapi/v2', '/openapi/v3', '/healthz', '/livez', '/readyz'].includes(path))
      return 'discovery'
    let group: string
    let version: string
    let rest: string[]
    if (seg[0] === 'api') {
      if (seg.length <= 2) return 'discovery'
      group = ''
      version = seg[1]
      rest = seg.slice(2)
    } else if (seg[0] === 'apis') {
      if (seg.length <= 3) return 'discovery'
      group = seg[1]
      version = seg[2]
      rest = seg.slice(3)
    } else return undefined
    if (this.unserved(group, version)) return undefined
    let ns: string | undefined
    let r: ResourceDef | undefined
    let name: string | undefined
    let sub: string | undefined
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const nr = findByPlural(group, version, rest[2])
      if (nr && nr.namespaced) {
        r = nr
        ns = rest[1]
        name = rest[3]
        sub = rest[4]
        if (rest.length > 5) return undefined
      }
    }
    if (!r) {
      r = findByPlural(group, version, rest[0])
      name = rest[1]
      sub = rest[2]
      if (rest.length > 3) return undefined
      if (r && r.namespaced && name !== undefined) return undefined
    }
    if (!r) return undefined
    if (sub !== undefined && !r.subresources.includes(sub)) return undefined
    return { r, version, ns, name, sub }
  }

  private unserved(group: string, version: string): boolean {
    return this.opts.unservedVersions.includes(groupVersion(group, version))
  }

  /** The served versions of a group, preferred first (without those the options leave out). */
  private servedGroups(): { name: string; versions: string[] }[] {
    return groups()
      .map(g => ({ ...g, versions: g.versions.filter(v => !this.unserved(g.name, v)) }))
      .filter(g => g.versions.length > 0)
  }

  private wireObject(r: ResourceDef, obj: Obj, version: string): Obj {
    return this.store.present(r, obj, version)
  }

  private record(rec: RecordedRequest): void {
    this.requests.push(rec)
  }

  // ------------------------------------------------------------------ request entry

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1')
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const method = (req.method ?? 'GET').toUpperCase()
    const query: Record<string, string> = {}
    for (const [k, v] of url.searchParams) query[k] = v
    const raw = await this.readBody(req)
    const contentType = req.headers['content-type']

    if (this.opts.controlPlane && path.startsWith('/_test/'))
      return this.controlPlane(req, res, method, path, raw)

    const d = this.describe(method, path)
    const rec: RecordedRequest = {
      method,
      path,
      query,
      ...(contentType ? { contentType } : {}),
      dryRun: query.dryRun === 'All' || url.searchParams.getAll('dryRun').includes('All'),
      status: 0,
      ...d
    }
    for (const k of ['resource', 'group', 'namespace', 'name', 'subresource'] as const) {
      if ((rec as unknown as Obj)[k] === undefined) delete (rec as unknown as Obj)[k]
    }
    if (raw.length) {
      try {
        rec.body = contentType?.includes('yaml')
          ? yaml.load(raw.toString('utf8'))
          : JSON.parse(raw.toString('utf8'))
      } catch {
        rec.body = raw.toString('utf8')
      }
    }
    if (d.verb === 'list' && (query.watch === 'true' || query.watch === '1')) rec.verb = 'other'
    this.record(rec)

    const reply = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      rec.status = code
      this.send(res, code, body, headers)
    }

    const fault = this.matchFault(method, path, url.search)
    if (this.opts.latencyMs > 0) await sleep(this.opts.latencyMs)
    if (fault) {
      if (fault.delayMs) await sleep(fault.delayMs)
      if (fault.drop) {
        rec.status = 0
        req.socket.destroy()
        return
      }
      if (fault.status) {
        const headers: Record<string, string> = {}
        if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds)
        reply(fault.status, fault.body ?? defaultStatusFor(fault.status, fault.retryAfterSeconds), headers)
        return
      }
    }

    const auth = req.headers.authorization
    if (auth !== `Bearer ${this.opts.token}`) {
      reply(401, status(401, 'Unauthorized', 'Unauthorized'))
      return
    }

    try {
      await this.dispatch(req, res, method, path, url, query, raw, contentType, reply, rec)
    } catch (e) {
      if (e instanceof ApiError) reply(e.code, e.status, e.headers)
      else throw e
    }
  }

  private async controlPlane(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    raw: Buffer
  ): Promise<void> {
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'))
      return
    }
    let body: Obj
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Obj) : {}
    } catch {
      this.send(res, 400, status(400, 'BadRequest', 'invalid JSON'))
      return
    }
    if (path === '/_test/requests' && method === 'GET') return this.send(res, 200, this.requests)
    if (path === '/_test/requests' && method === 'DELETE') {
      this.requests.length = 0
      return this.send(res, 200, {})
    }
    if (path === '/_test/faults' && method === 'POST') {
      const f = { ...body } as unknown as Fault & { pathRegex?: string }
      if (typeof f.pathRegex === 'string') f.path = new RegExp(f.pathRegex)
      if (typeof f.path !== 'string' && !(f.path instanceof RegExp))
        return this.send(res, 400, status(400, 'BadRequest', 'path or pathRegex is required'))
      delete f.pathRegex
      this.faults.push({ fault: f, seen: 0 })
      return this.send(res, 201, {})
    }
    if (path === '/_test/faults' && method === 'DELETE') {
      this.faults = []
      return this.send(res, 200, {})
    }
    if (path === '/_test/deployment-health' && method === 'POST') {
      const { namespace, name, ...h } = body as {
        namespace?: string
        name?: string
        available?: boolean
        restarts?: number
      }
      if (!name) return this.send(res, 400, status(400, 'BadRequest', 'name is required'))
      this.controller.setHealth(namespace ?? 'default', name, h)
      return this.send(res, 200, {})
    }
    this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
  }

  // ------------------------------------------------------------------ API

  private notFoundPath(): ApiError {
    return new ApiError(status(404, 'NotFound', 'the server could not find the requested resource', {}))
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    url: URL,
    query: Record<string, string>,
    raw: Buffer,
    contentType: string | undefined,
    reply: (code: number, body: unknown, headers?: Record<string, string>) => void,
    rec: RecordedRequest
  ): Promise<void> {
    const rt = this.route(path)
    if (rt === 'discovery') {
      if (method !== 'GET')
        throw methodNotAllowed(`the server does not allow this method on the requested resource`)
      return this.discovery(path, req, reply)
    }
    if (!rt) throw this.notFoundPath()
    const { r, version, ns, name, sub } = rt
    const dryRunValues = url.searchParams.getAll('dryRun')
    for (const v of dryRunValues) {
      if (v !== 'All') {
        throw invalid(
          {
            group: 'meta.k8s.io',
            kind:
              method === 'POST'
                ? 'CreateOptions'
                : method === 'DELETE'
                  ? 'DeleteOptions'
                  : method === 'PATCH'
                    ? 'PatchOptions'
                    : 'UpdateOptions'
          },
          '',
          [
            {
              field: 'dryRun',
              type: 'FieldValueNotSupported',
              detail: `Unsupported value: []string{"${v}"}: supported values: "All"`
            }
          ]
        )
      }
    }
    const dryRun = dryRunValues.includes('All')
    const manager = query.fieldManager || managerFromUserAgent(req.headers['user-agent'])
    const parseBody = (): Obj => {
      if (!raw.length) throw badRequest('the body of the request was empty')
      try {
        const v = JSON.parse(raw.toString('utf8')) as unknown
        if (!isObj(v)) throw new Error('not an object')
        return v
      } catch {
        try {
          const v = yaml.load(raw.toString('utf8'))
          if (isObj(v)) return v
        } catch {
          /* fall through */
        }
        throw badRequest(`Object 'Kind' is missing in '${raw.toString('utf8').slice(0, 200)}'`)
      }
    }
    const wantsTable = /as=Table/.test(String(req.headers.accept ?? ''))

    switch (method) {
      case 'GET': {
        if (name === undefined) {
          if (query.watch === 'true' || query.watch === '1')
            return this.watch(r, version, ns, query, res, rec)
          return reply(200, this.list(r, version, ns, query, wantsTable))
        }
        const obj = this.store.raw(r, ns, name)
        if (!obj) throw notFoundOf(r, name)
        return reply(
          200,
          wantsTable
            ? this.table(r, [obj], version, String(this.store.rv))
            : this.store.present(r, obj, version)
        )
      }
      case 'POST': {
        if (name !== undefined)
          throw methodNotAllowed('the server does not allow this method on the requested resource')
        const obj = this.store.create(r, ns, parseBody(), version, {
          dryRun,
          manager,
          apiVersion: groupVersion(r.group, version)
        })
        return reply(201, obj)
      }
      case 'PUT': {
        if (name === undefined)
          throw methodNotAllowed('the server does not allow this method on the requested resource')
        const obj = this.store.update(r, ns, name, parseBody(), version, {
          dryRun,
          manager,
          apiVersion: groupVersion(r.group, version),
          subresource: sub
        })
        return reply(200, obj)
      }
      case 'PATCH': {
        if (name === undefined)
          throw methodNotAllowed('the server does not allow this method on the requested resource')
        return reply(...this.patch(r, version, ns, name, sub, contentType, raw, query, dryRun, manager))
      }
      case 'DELETE': {
        if (name === undefined) return reply(200, this.deleteCollection(r, version, ns, query, dryRun))
        let opts: Obj = {}
        if (raw.length) {
          try {
            opts = JSON.parse(raw.toString('utf8')) as Obj
          } catch {
            throw badRequest('invalid DeleteOptions body')
          }
        }
        const optDry = Array.isArray(opts.dryRun) && (opts.dryRun as string[]).includes('All')
        const gone = this.store.delete(r, ns, name, {
          dryRun: dryRun || optDry,
          preconditions: isObj(opts.preconditions) ? opts.preconditions : undefined
        })
        if (dryRun || optDry) rec.dryRun = true
        if (r.kind === 'Namespace') return reply(200, this.store.present(r, gone, version))
        if (r.kind === 'Pod') {
          const o = this.store.present(r, gone, version)
          const md = metaOf(o)
          md.deletionTimestamp = new Date(Date.now() + 30000).toISOString().replace(/\.\d{3}Z$/, 'Z')
          md.deletionGracePeriodSeconds = 30
          return reply(200, ordered(o))
        }
        const details: Obj = { name }
        if (r.group) details.group = r.group
        details.kind = r.plural
        details.uid = (gone.metadata as Obj).uid
        return reply(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details })
      }
      default:
        throw methodNotAllowed('the server does not allow this method on the requested resource')
    }
  }

  private patch(
    r: ResourceDef,
    version: string,
    ns: string | undefined,
    name: string,
    sub: string | undefined,
    contentType: string | undefined,
    raw: Buffer,
    query: Record<string, string>,
    dryRun: boolean,
    manager: string
  ): [number, unknown] {
    const ct = String(contentType ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase()
    const accepted = r.builtin
      ? [PATCH_JSON, PATCH_MERGE, PATCH_SMP, PATCH_APPLY]
      : [PATCH_JSON, PATCH_MERGE, PATCH_APPLY]
    if (!accepted.includes(ct)) throw unsupportedMediaType(accepted)
    const force = query.force === 'true'
    if (ct === PATCH_APPLY && !query.fieldManager) {
      throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [
        {
          field: 'fieldManager',
          type: 'FieldValueRequired',
          detail: 'Required value: is required for apply patch'
        }
      ])
    }
    if (ct !== PATCH_APPLY && query.force !== undefined) {
      throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [
        {
          field: 'force',
          type: 'FieldValueForbidden',
          detail: 'Forbidden: may not be specified for non-apply patch'
        }
      ])
    }
    const text = raw.toString('utf8')
    let patchDoc: unknown
    try {
      patchDoc = ct === PATCH_APPLY ? yaml.load(text) : JSON.parse(text)
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`)
    }
    const existing = this.store.raw(r, ns, name)
    const apiVersion = groupVersion(r.group, version)

    if (ct === PATCH_APPLY) {
      if (!isObj(patchDoc)) throw badRequest('error decoding YAML: the apply patch must be an object')
      const applied = clone(patchDoc)
      if (applied.apiVersion !== apiVersion || applied.kind !== r.kind) {
        if (!applied.apiVersion || !applied.kind) throw badRequest('invalid object type: /, Kind=')
        this.store.checkTypeMeta(r, version, applied)
      }
      const md = metaOf(applied)
      if (md.name !== undefined && md.name !== name) {
        throw badRequest(`the name of the object (${md.name}) does not match the name on the URL (${name})`)
      }
      md.name = name
      if (r.namespaced) {
        if (md.namespace !== undefined && md.namespace !== ns) {
          throw badRequest(
            'the namespace of the provided object does not match the namespace sent on the request'
          )
        }
        md.namespace = ns
      }
      if (
        md.resourceVersion &&
        existing &&
        md.resourceVersion !== (existing.metadata as Obj).resourceVersion
      ) {
        throw conflictOf(r, name)
      }
      delete md.resourceVersion
      if (!r.builtin && hasSchema(apiVersion, r.kind)) pruneAndDefault(apiVersion, r.kind, applied)
      const live = existing ? this.store.present(r, existing, version) : undefined
      const { obj, managedFields } = serverSideApply(
        live,
        applied,
        query.fieldManager,
        apiVersion,
        force,
        r.builtin
      )
      if (!existing) {
        const created = this.store.create(
          r,
          ns,
          { ...obj, metadata: { ...metaOf(obj), managedFields: undefined } },
          version,
          {
            dryRun,
            manager: query.fieldManager,
            apiVersion
          }
        )
        if (!dryRun) {
          const stored = this.store.raw(r, ns, name)!
          const smd = metaOf(stored)
          smd.managedFields = managedFields.map(m => ({ ...m }))
        }
        return [201, dryRun ? created : this.store.present(r, this.store.raw(r, ns, name)!, version)]
      }
      const next = clone(obj)
      metaOf(next).resourceVersion = (existing.metadata as Obj).resourceVersion
      const updated = this.store.update(r, ns, name, next, version, {
        dryRun,
        manager: query.fieldManager,
        apiVersion,
        subresource: sub
      })
      if (!dryRun) {
        const stored = this.store.raw(r, ns, name)!
        metaOf(stored).managedFields = managedFields
        return [200, this.store.present(r, stored, version)]
      }
      return [200, { ...updated, metadata: { ...metaOf(updated), managedFields } }]
    }

    if (!existing) throw notFoundOf(r, name)
    const current = this.store.present(r, existing, version)
    let patched: unknown
    if (ct === PATCH_JSON) patched = jsonPatch(current, patchDoc)
    else if (ct === PATCH_MERGE) {
      if (!isObj(patchDoc))
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}')
      patched = mergePatch(current, patchDoc)
    } else patched = strategicMergePatch(current, patchDoc)
    if (!isObj(patched)) throw badRequest('the patched object is not an object')
    const pmd = metaOf(patched)
    if (
      pmd.resourceVersion !== undefined &&
      pmd.resourceVersion !== (existing.metadata as Obj).resourceVersion
    ) {
      throw conflictOf(r, name)
    }
    pmd.resourceVersion = (existing.metadata as Obj).resourceVersion
    const out = this.store.update(r, ns, name, patched, version, {
      dryRun,
      manager,
      apiVersion,
      subresource: sub
    })
    return [200, out]
  }

  private selectors(r: ResourceDef, query: Record<string, string>) {
    const labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : []
    const fields = query.fieldSelector ? parseFieldSelector(query.fieldSelector, r.kind) : []
    return { labels, fields }
  }

  private list(
    r: ResourceDef,
    version: string,
    ns: string | undefined,
    query: Record<string, string>,
    table: boolean
  ): Obj {
    const { labels, fields } = this.selectors(r, query)
    let items = this.store
      .all(r, ns)
      .filter(
        o =>
          matchLabels(labels, (o.metadata as Obj).labels as Record<string, string>) && matchFields(fields, o)
      )
    const listRv = String(this.store.rv)
    const meta: Obj = { resourceVersion: listRv }
    if (query.continue) {
      let after: string
      try {
        after = Buffer.from(query.continue, 'base64').toString('utf8')
      } catch {
        throw badRequest('continue key is not valid')
      }
      items = items.filter(o => `${(o.metadata as Obj).namespace ?? ''}/${(o.metadata as Obj).name}` > after)
    }
    const limit = Number(query.limit ?? 0)
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1]
      meta.continue = Buffer.from(
        `${(last.metadata as Obj).namespace ?? ''}/${(last.metadata as Obj).name}`
      ).toString('base64')
      meta.remainingItemCount = items.length - limit
      items = items.slice(0, limit)
    }
    if (table) return this.table(r, items, version, listRv, meta)
    return {
      apiVersion: groupVersion(r.group, version),
      kind: `${r.kind}List`,
      metadata: meta,
      items: items.map(o => {
        const p = this.store.present(r, o, version)
        // built-in lists carry no per-item apiVersion/kind (custom resource lists do)
        if (r.builtin) {
          delete p.apiVersion
          delete p.kind
        }
        return p
      })
    }
  }

  private deleteCollection(
    r: ResourceDef,
    version: string,
    ns: string | undefined,
    query: Record<string, string>,
    dryRun: boolean
  ): Obj {
    const { labels, fields } = this.selectors(r, query)
    const items = this.store
      .all(r, ns)
      .filter(
        o =>
          matchLabels(labels, (o.metadata as Obj).labels as Record<string, string>) && matchFields(fields, o)
      )
    const gone = items.map(o =>
      this.store.delete(
        r,
        ns ?? ((o.metadata as Obj).namespace as string),
        (o.metadata as Obj).name as string,
        { dryRun }
      )
    )
    return {
      apiVersion: groupVersion(r.group, version),
      kind: `${r.kind}List`,
      metadata: { resourceVersion: String(this.store.rv) },
      items: gone.map(o => this.store.present(r, o, version))
    }
  }

  private table(r: ResourceDef, items: Obj[], version: string, rv: string, meta: Obj = {}): Obj {
    const cols = r.columns ?? []
    const now = Date.now()
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { ...meta, resourceVersion: rv },
      columnDefinitions: [
        {
          name: 'Name',
          type: 'string',
          format: 'name',
          description: 'Name must be unique within a namespace.',
          priority: 0
        },
        ...cols.map(c => ({
          name: c.name,
          type: c.type,
          format: '',
          description: c.name,
          priority: c.priority ?? 0
        })),
        {
          name: 'Age',
          type: 'date',
          format: '',
          description:
            'CreationTimestamp is a timestamp representing the server time when this object was created.',
          priority: 0
        }
      ],
      rows: items.map(o => {
        const p = this.store.present(r, o, version)
        const md = p.metadata as Obj
        const cells: unknown[] = [md.name]
        for (const c of cols) {
          const v = c.get(p)
          cells.push(
            v === undefined || v === null
              ? c.type === 'integer'
                ? 0
                : ''
              : Array.isArray(v) || isObj(v)
                ? JSON.stringify(v)
                : v
          )
        }
        cells.push(humanDuration(now - Date.parse(String(md.creationTimestamp))))
        const pmd: Obj = { ...md }
        delete pmd.managedFields
        return {
          cells,
          object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pmd }
        }
      })
    }
  }

  private watch(
    r: ResourceDef,
    version: string,
    ns: string | undefined,
    query: Record<string, string>,
    res: ServerResponse,
    rec: RecordedRequest
  ): void {
    const { labels, fields } = this.selectors(r, query)
    rec.status = 200
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private'
    })
    // clients (client-go) wait for the headers before they consider the watch established
    res.flushHeaders()
    const w: Watcher = { r, ns, version, labels, fields, res }
    const since = query.resourceVersion
    const matches = (o: Obj) =>
      (ns === undefined || !r.namespaced || (o.metadata as Obj).namespace === ns) &&
      matchLabels(labels, (o.metadata as Obj).labels as Record<string, string>) &&
      matchFields(fields, o)
    if (!since || since === '0') {
      for (const o of this.store.all(r, ns))
        if (matches(o))
          res.write(JSON.stringify({ type: 'ADDED', object: this.wireObject(r, o, version) }) + '\n')
    } else {
      const from = Number(since)
      const oldest = this.store.events[0]?.rv ?? this.store.rv
      if (from < oldest - 1) {
        res.write(
          JSON.stringify({
            type: 'ERROR',
            object: status(410, 'Expired', `too old resource version: ${from} (${oldest})`)
          }) + '\n'
        )
        res.end()
        return
      }
      for (const e of this.store.events) {
        if (e.rv > from && e.r === r && matches(e.obj))
          res.write(JSON.stringify({ type: e.type, object: this.wireObject(r, e.obj, version) }) + '\n')
      }
    }
    this.watchers.add(w)
    const timeout = Number(query.timeoutSeconds ?? 0)
    const t = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined
    res.on('close', () => {
      this.watchers.delete(w)
      if (t) clearTimeout(t)
    })
  }

  // ------------------------------------------------------------------ discovery

  private discovery(
    path: string,
    req: IncomingMessage,
    reply: (code: number, body: unknown, headers?: Record<string, string>) => void
  ): void {
    const serverAddress = `127.0.0.1:${this.port}`
    if (path === '/version') return reply(200, SERVER_VERSION)
    if (path === '/healthz' || path === '/livez' || path === '/readyz')
      return reply(200, 'ok', { 'Content-Type': 'text/plain; charset=utf-8' })
    if (path === '/openapi/v2') {
      // An OpenAPI document with no definitions: kubectl's client-side validation then skips every kind (as it does
      // for kinds a server does not describe), and apply falls back to its compiled-in patch metadata.
      const accept = String(req.headers.accept ?? '')
      if (accept.includes('protobuf')) {
        const swagger = Buffer.from('2.0')
        return reply(200, Buffer.concat([Buffer.from([0x0a, swagger.length]), swagger]))
      }
      return reply(200, {
        swagger: '2.0',
        info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
        paths: {},
        definitions: {}
      })
    }
    if (path === '/openapi/v3') throw this.notFoundPath()
    if (path === '/api') {
      return reply(200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }]
      })
    }
    if (path === '/apis') {
      return reply(200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: this.servedGroups().map(g => ({
          name: g.name,
          versions: g.versions.map(v => ({ groupVersion: `${g.name}/${v}`, version: v })),
          preferredVersion: { groupVersion: `${g.name}/${g.versions[0]}`, version: g.versions[0] }
        }))
      })
    }
    const seg = path.split('/').filter(Boolean)
    if (seg[0] === 'apis' && seg.length === 2) {
      const g = this.servedGroups().find(x => x.name === seg[1])
      if (!g) throw this.notFoundPath()
      return reply(200, {
        kind: 'APIGroup',
        apiVersion: 'v1',
        name: g.name,
        versions: g.versions.map(v => ({ groupVersion: `${g.name}/${v}`, version: v })),
        preferredVersion: { groupVersion: `${g.name}/${g.versions[0]}`, version: g.versions[0] }
      })
    }
    const [group, version] = seg[0] === 'api' ? ['', seg[1]] : [seg[1], seg[2]]
    const rs = RESOURCES.filter(
      r => r.group === group && r.versions.includes(version) && !this.unserved(group, version)
    )
    if (!rs.length) throw this.notFoundPath()
    const resources: Obj[] = []
    for (const r of rs) {
      const e: Obj = {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: verbsOf(r)
      }
      if (r.shortNames) e.shortNames = r.shortNames
      if (r.categories) e.categories = r.categories
      e.storageVersionHash = Buffer.from(`${r.group}/${r.kind}`).toString('base64').slice(0, 11)
      resources.push(e)
      for (const s of r.subresources) {
        resources.push({
          name: `${r.plural}/${s}`,
          singularName: '',
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['get', 'patch', 'update']
        })
      }
    }
    return reply(200, {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: groupVersion(group, version),
      resources
    })
  }
}

function notFoundOf(r: ResourceDef, name: string): ApiError {
  return new ApiError(
    status(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, {
      name,
      ...(r.group ? { group: r.group } : {}),
      kind: r.plural
    })
  )
}

function conflictOf(r: ResourceDef, name: string): ApiError {
  return new ApiError(
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, ...(r.group ? { group: r.group } : {}), kind: r.plural }
    )
  )
}

/** The apiserver's default field manager: the user agent up to its first '/'. */
function managerFromUserAgent(ua: string | undefined): string {
  const s = String(ua ?? 'unknown')
  const i = s.indexOf('/')
  return (i >= 0 ? s.slice(0, i) : s).slice(0, 128) || 'unknown'
}
