/** Object storage, the global resourceVersion counter, and the write path shared by the HTTP API and the test API. */
import { admit } from './admission.js'
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  invalid,
  MODIFIED,
  namespaceNotFound,
  notFound,
  status
} from './errors.js'
import { findByKind, groupVersion, parseApiVersion, RESOURCES, type ResourceDef } from './resources.js'
import { hasSchema, pruneAndDefault } from './schemas.js'
import { recordUpdate, type ManagedFieldsEntry } from './ssa.js'
import { clone, deepEqual, isObj, nowIso, ordered, randSuffix, uid, type Obj } from './util.js'

export interface WatchEvent {
  rv: number
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  r: ResourceDef
  obj: Obj
}

export interface WriteCtx {
  dryRun: boolean
  manager: string
  /** apiVersion of the request (managedFields, schema used for validation) */
  apiVersion: string
  /** skip admission (test API put) */
  bypass?: boolean
  /** keep a given status on create (seed) */
  keepStatus?: boolean
  subresource?: string
}

const EVENT_LOG_MAX = 5000

export function keyOf(r: ResourceDef, ns: string | undefined, name: string): string {
  return `${r.group}|${r.plural}|${r.namespaced ? (ns ?? '') : ''}|${name}`
}

export function metaOf(o: Obj): Obj {
  if (!isObj(o.metadata)) o.metadata = {}
  return o.metadata as Obj
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(o: Obj): Obj {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o
  return rest
}

export class Store {
  rv = 100
  readonly objects = new Map<string, Obj>()
  readonly events: WatchEvent[] = []
  readonly listeners = new Set<(e: WatchEvent) => void>()
  /** called after a Deployment's spec changed or it was created / deleted */
  onDeploymentChange: (ns: string, name: string, deleted: boolean) => void = () => {}
  onPodCreated: (ns: string, name: string) => void = () => {}
  /** called after an HTTPRoute was created or its spec changed */
  onRouteChange: (ns: string, name: string) => void = () => {}
  /** called after a Service was created or deleted */
  onServiceChange: () => void = () => {}
  onNamespaceDeleted: (name: string) => void = () => {}

  nextRv(): string {
    this.rv += 1
    return String(this.rv)
  }

  emit(type: WatchEvent['type'], r: ResourceDef, obj: Obj): void {
    const e: WatchEvent = { rv: this.rv, type, r, obj: clone(obj) }
    this.events.push(e)
    if (this.events.length > EVENT_LOG_MAX) this.events.splice(0, this.events.length - EVENT_LOG_MAX)
    for (const l of this.listeners) l(e)
  }

  raw(r: ResourceDef, ns: string | undefined, name: string): Obj | undefined {
    return this.objects.get(keyOf(r, ns, name))
  }

  all(r: ResourceDef, ns?: string): Obj[] {
    const out: Obj[] = []
    const prefix = `${r.group}|${r.plural}|`
    for (const [k, v] of this.objects) {
      if (!k.startsWith(prefix)) continue
      if (ns !== undefined && r.namespaced && (v.metadata as Obj).namespace !== ns) continue
      out.push(v)
    }
    return out.sort((a, b) => {
      const ka = `${(a.metadata as Obj).namespace ?? ''}/${(a.metadata as Obj).name}`
      const kb = `${(b.metadata as Obj).namespace ?? ''}/${(b.metadata as Obj).name}`
      return ka < kb ? -1 : ka > kb ? 1 : 0
    })
  }

  /** The object as a client of `version` sees it. */
  present(r: ResourceDef, obj: Obj, version?: string): Obj {
    const o = clone(obj)
    o.apiVersion = groupVersion(r.group, version ?? r.versions[0])
    o.kind = r.kind
    return ordered(o)
  }

  private put(r: ResourceDef, obj: Obj, type: WatchEvent['type']): Obj {
    const md = metaOf(obj)
    md.resourceVersion = this.nextRv()
    this.objects.set(keyOf(r, md.namespace as string | undefined, md.name as string), obj)
    this.emit(type, r, obj)
    return obj
  }

  namespaceCheck(r: ResourceDef, ns: string | undefined, name = ''): void {
    if (!r.namespaced) return
    const nsDef = RESOURCES.find(x => x.kind === 'Namespace')!
    const nsObj = this.raw(nsDef, undefined, ns ?? '')
    if (!nsObj) throw namespaceNotFound(ns ?? '')
    if ((nsObj.metadata as Obj).deletionTimestamp) {
      throw new ApiError(
        status(
          403,
          'Forbidden',
          `${r.group ? `${r.plural}.${r.group}` : r.plural} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
          {
            kind: r.plural,
            ...(r.group ? { group: r.group } : {}),
            causes: [
              {
                reason: 'NamespaceTerminating',
                message: `namespace ${ns} is being terminated`,
                field: 'metadata.namespace'
              }
            ]
          }
        )
      )
    }
  }

  /** Checks apiVersion/kind of a request body against the URL's resource and version. */
  checkTypeMeta(r: ResourceDef, version: string, obj: Obj): void {
    const expected = groupVersion(r.group, version)
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = expected
    if (obj.kind === undefined || obj.kind === '') obj.kind = r.kind
    if (obj.apiVersion !== expected) {
      const { group } = parseApiVersion(String(obj.apiVersion))
      if (group !== r.group || !r.versions.includes(parseApiVersion(String(obj.apiVersion)).version)) {
        throw badRequest(
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`
        )
      }
    }
    if (obj.kind !== r.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${r.kind})`)
    }
  }

  private prepare(r: ResourceDef, obj: Obj, version: string, old: Obj | undefined, ctx: WriteCtx): void {
    if (!r.builtin && hasSchema(groupVersion(r.group, version), r.kind)) {
      pruneAndDefault(groupVersion(r.group, version), r.kind, obj)
    }
    if (r.builtin) defaultBuiltin(r.kind, obj, old)
    if (!ctx.bypass) admit(r, obj, old, groupVersion(r.group, version))
  }

  create(r: ResourceDef, ns: string | undefined, body: Obj, version: string, ctx: WriteCtx): Obj {
    const obj = clone(body)
    this.checkTypeMeta(r, version, obj)
    const md = metaOf(obj)
    if (r.namespaced) {
      if (md.namespace !== undefined && md.namespace !== '' && md.namespace !== ns) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request'
        )
      }
      md.namespace = ns
    } else delete md.namespace
    if ((md.name === undefined || md.name === '') && typeof md.generateName === 'string' && md.generateName) {
      md.name = md.generateName + randSuffix(5)
    }
    if (md.resourceVersion !== undefined && md.resourceVersion !== '' && !ctx.bypass) {
      throw badRequest('resourceVersion should not be set on objects to be created')
    }
    for (const k of [
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'deletionTimestamp',
      'selfLink',
      'managedFields'
    ]) {
      delete md[k]
    }
    if (!ctx.bypass) this.namespaceCheck(r, ns, String(md.name ?? ''))
    if (r.statusSubresource && !ctx.keepStatus) {
      delete obj.status
    }
    if (r.builtin) initialStatus(r.kind, obj, ctx.keepStatus)
    this.prepare(r, obj, version, undefined, ctx)
    const name = String(md.name ?? '')
    if (this.raw(r, ns, name)) throw alreadyExists(r, name)
    md.uid = uid()
    md.creationTimestamp = nowIso()
    if (r.hasGeneration) md.generation = 1
    md.managedFields = recordUpdate(
      undefined,
      obj,
      ctx.manager,
      groupVersion(r.group, version),
      r.builtin,
      ctx.subresource
    )
    if (Array.isArray(md.managedFields) && md.managedFields.length === 0) delete md.managedFields
    if (r.kind === 'Namespace') {
      md.labels = { ...((md.labels as Obj) ?? {}), 'kubernetes.io/metadata.name': name }
    }
    if (ctx.dryRun) return this.present(r, obj, version)
    this.put(r, obj, 'ADDED')
    if (r.kind === 'Deployment') this.onDeploymentChange(ns ?? '', name, false)
    if (r.kind === 'Pod') this.onPodCreated(ns ?? '', name)
    if (r.kind === 'HTTPRoute') this.onRouteChange(ns ?? '', name)
    if (r.kind === 'Service') this.onServiceChange()
    return this.present(r, obj, version)
  }

  /** PUT (and the tail of every patch): `body` is the complete new object. */
  update(
    r: ResourceDef,
    ns: string | undefined,
    name: string,
    body: Obj,
    version: string,
    ctx: WriteCtx & { requireRv?: boolean }
  ): Obj {
    const obj = clone(body)
    this.checkTypeMeta(r, version, obj)
    const md = metaOf(obj)
    if (md.name !== undefined && md.name !== name) {
      throw badRequest(`the name of the object (${md.name}) does not match the name on the URL (${name})`)
    }
    if (r.namespaced && md.namespace !== undefined && md.namespace !== '' && md.namespace !== ns) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request'
      )
    }
    md.name = name
    if (r.namespaced) md.namespace = ns
    else delete md.namespace
    const existing = this.raw(r, ns, name)
    if (!existing) throw notFound(r, name)
    const emd = existing.metadata as Obj
    const rv = md.resourceVersion
    if (!ctx.bypass) {
      if (rv === undefined || rv === '' || rv === null) {
        if (ctx.requireRv !== false && !r.allowUnconditionalUpdate) {
          throw invalid(r, name, [
            {
              field: 'metadata.resourceVersion',
              type: 'FieldValueInvalid',
              detail: 'Invalid value: 0x0: must be specified for an update'
            }
          ])
        }
      } else if (String(rv) !== emd.resourceVersion) {
        throw conflict(r, name, MODIFIED)
      }
      if (md.uid !== undefined && md.uid !== '' && md.uid !== emd.uid) {
        throw conflict(
          r,
          name,
          `Precondition failed: UID in precondition: ${md.uid}, UID in object meta: ${emd.uid}`
        )
      }
    }
    md.uid = emd.uid
    md.creationTimestamp = emd.creationTimestamp
    delete md.resourceVersion
    delete md.managedFields
    if (emd.deletionTimestamp) md.deletionTimestamp = emd.deletionTimestamp
    if (emd.generation !== undefined) md.generation = emd.generation
    const sub = ctx.subresource
    if (sub === 'status') {
      // only status changes through the status subresource
      const status = obj.status
      for (const k of Object.keys(obj)) delete obj[k]
      Object.assign(obj, clone(existing), { status })
      obj.apiVersion = groupVersion(r.group, version)
      delete metaOf(obj).managedFields
      delete metaOf(obj).resourceVersion
    } else if (r.statusSubresource && !ctx.keepStatus) {
      if (existing.status !== undefined) obj.status = clone(existing.status)
      else delete obj.status
    }
    if (r.kind === 'Namespace') {
      md.labels = { ...((md.labels as Obj) ?? {}), 'kubernetes.io/metadata.name': name }
    }
    this.prepare(r, obj, version, existing, ctx)
    const specChanged = !deepEqual(specPart(obj), specPart(existing))
    if (r.hasGeneration && specChanged) md.generation = Number(emd.generation ?? 0) + 1
    const mf = recordUpdate(existing, obj, ctx.manager, groupVersion(r.group, version), r.builtin, sub)
    md.managedFields = mf
    if (mf.length === 0) delete md.managedFields
    const stripped = (o: Obj) => {
      const c = clone(o)
      const m = metaOf(c)
      delete m.resourceVersion
      delete m.managedFields
      delete c.apiVersion
      return c
    }
    if (deepEqual(stripped(obj), stripped(existing))) {
      // a no-op write is not persisted and does not bump resourceVersion
      return this.present(r, existing, version)
    }
    if (ctx.dryRun) {
      md.resourceVersion = emd.resourceVersion
      return this.present(r, obj, version)
    }
    this.put(r, obj, 'MODIFIED')
    if (r.kind === 'Deployment' && specChanged) this.onDeploymentChange(ns ?? '', name, false)
    if (r.kind === 'HTTPRoute' && specChanged) this.onRouteChange(ns ?? '', name)
    return this.present(r, obj, version)
  }

  /** Stores a fully formed object (server-side apply result, controller writes). */
  replaceRaw(r: ResourceDef, obj: Obj, managedFields?: ManagedFieldsEntry[]): Obj {
    const md = metaOf(obj)
    if (managedFields) md.managedFields = managedFields
    return this.put(
      r,
      obj,
      this.raw(r, md.namespace as string | undefined, md.name as string) ? 'MODIFIED' : 'ADDED'
    )
  }

  delete(
    r: ResourceDef,
    ns: string | undefined,
    name: string,
    opts: { dryRun: boolean; preconditions?: Obj }
  ): Obj {
    const existing = this.raw(r, ns, name)
    if (!existing) throw notFound(r, name)
    const emd = existing.metadata as Obj
    const pre = opts.preconditions
    if (pre && pre.uid && pre.uid !== emd.uid) {
      throw conflict(
        r,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${emd.uid}`
      )
    }
    if (pre && pre.resourceVersion && pre.resourceVersion !== emd.resourceVersion) {
      throw conflict(
        r,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${emd.resourceVersion}`
      )
    }
    if (r.kind === 'Namespace') {
      const o = clone(existing)
      const md = metaOf(o)
      md.deletionTimestamp = md.deletionTimestamp ?? nowIso()
      o.status = { phase: 'Terminating' }
      if (opts.dryRun) return o
      if (!emd.deletionTimestamp) {
        this.put(r, o, 'MODIFIED')
        this.onNamespaceDeleted(name)
      }
      return o
    }
    const gone = clone(existing)
    if (opts.dryRun) return gone
    this.objects.delete(keyOf(r, ns, name))
    this.nextRv()
    metaOf(gone).resourceVersion = String(this.rv)
    this.emit('DELETED', r, gone)
    if (r.kind === 'Deployment') this.onDeploymentChange(ns ?? '', name, true)
    if (r.kind === 'Service') this.onServiceChange()
    if (r.kind === 'ReplicaSet') this.deleteOwned(ns, emd.uid as string)
    return gone
  }

  /** Garbage collection of dependents (ownerReferences), immediately. */
  deleteOwned(ns: string | undefined, ownerUid: string): void {
    for (const r of RESOURCES) {
      if (!r.namespaced) continue
      for (const o of this.all(r, ns)) {
        const refs = ((o.metadata as Obj).ownerReferences ?? []) as Obj[]
        if (refs.some(ref => ref.uid === ownerUid)) {
          this.delete(r, ns, (o.metadata as Obj).name as string, { dryRun: false })
        }
      }
    }
  }

  /** Removes a terminating namespace and everything in it. */
  finishNamespace(name: string): void {
    for (const r of RESOURCES) {
      if (!r.namespaced) continue
      for (const o of this.all(r, name)) {
        const n = (o.metadata as Obj).name as string
        if (this.raw(r, name, n)) this.delete(r, name, n, { dryRun: false })
      }
    }
    const nsDef = RESOURCES.find(x => x.kind === 'Namespace')!
    const ns = this.raw(nsDef, undefined, name)
    if (ns) {
      this.objects.delete(keyOf(nsDef, undefined, name))
      this.nextRv()
      metaOf(ns).resourceVersion = String(this.rv)
      this.emit('DELETED', nsDef, ns)
    }
  }

  resourceFor(apiVersion: string, kind: string): ResourceDef {
    const r = findByKind(apiVersion, kind)
    if (!r) throw new Error(`kube-api: no resource serves ${apiVersion} ${kind}`)
    return r
  }
}

// ---------------------------------------------------------------- built-in defaulting and initial status

let ipCounter = 10

function defaultPodSpec(ps: Obj): void {
  ps.restartPolicy ??= 'Always'
  ps.terminationGracePeriodSeconds ??= 30
  ps.dnsPolicy ??= 'ClusterFirst'
  ps.securityContext ??= {}
  ps.schedulerName ??= 'default-scheduler'
  for (const c of (Array.isArray(ps.containers) ? ps.containers : []) as Obj[]) {
    if (!isObj(c)) continue
    c.resources ??= {}
    c.terminationMessagePath ??= '/dev/termination-log'
    c.terminationMessagePolicy ??= 'File'
    const image = String(c.image ?? '')
    c.imagePullPolicy ??= image.endsWith(':latest') || !image.includes(':') ? 'Always' : 'IfNotPresent'
    for (const p of (Array.isArray(c.ports) ? c.ports : []) as Obj[]) if (isObj(p)) p.protocol ??= 'TCP'
  }
}

export function defaultBuiltin(kind: string, obj: Obj, old: Obj | undefined): void {
  const spec = (isObj(obj.spec) ? obj.spec : undefined) as Obj | undefined
  switch (kind) {
    case 'Deployment':
      if (!spec) return
      spec.replicas ??= 1
      spec.revisionHistoryLimit ??= 10
      spec.progressDeadlineSeconds ??= 600
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }
      if (isObj(spec.template) && isObj(spec.template.spec)) defaultPodSpec(spec.template.spec)
      break
    case 'ReplicaSet':
      if (spec) spec.replicas ??= 1
      break
    case 'Pod':
      if (spec) defaultPodSpec(spec)
      break
    case 'Service': {
      if (!spec) return
      spec.type ??= 'ClusterIP'
      spec.sessionAffinity ??= 'None'
      const oldSpec = old && isObj(old.spec) ? old.spec : undefined
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        spec.clusterIP =
          oldSpec?.clusterIP ?? `10.96.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 2}`
      }
      if (!Array.isArray(spec.clusterIPs)) spec.clusterIPs = [spec.clusterIP]
      spec.ipFamilies ??= ['IPv4']
      spec.ipFamilyPolicy ??= 'SingleStack'
      spec.internalTrafficPolicy ??= 'Cluster'
      for (const p of (Array.isArray(spec.ports) ? spec.ports : []) as Obj[]) {
        if (!isObj(p)) continue
        p.protocol ??= 'TCP'
        p.targetPort ??= p.port
      }
      break
    }
    case 'Secret':
      obj.type ??= 'Opaque'
      if (isObj(obj.stringData)) {
        const data = (isObj(obj.data) ? obj.data : {}) as Obj
        for (const [k, v] of Object.entries(obj.stringData))
          data[k] = Buffer.from(String(v)).toString('base64')
        obj.data = data
        delete obj.stringData
      }
      break
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...(isObj(obj.spec) ? obj.spec : {}) }
      break
  }
}

function initialStatus(kind: string, obj: Obj, keep?: boolean): void {
  if (keep && obj.status !== undefined) return
  switch (kind) {
    case 'Namespace':
      obj.status = { phase: 'Active' }
      break
    case 'Service':
      obj.status = { loadBalancer: {} }
      break
    case 'Pod':
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' }
      break
    case 'Deployment':
    case 'ReplicaSet':
      obj.status = {}
      break
  }
}
