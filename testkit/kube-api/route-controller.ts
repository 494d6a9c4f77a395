/**
 * The part of istiod that reports on Gateway API routes: a little after each change of an HTTPRoute's spec (and
 * after a Service appears or goes), it writes `status.parents[]`, one entry per parentRef, with the conditions
 * `Accepted` and `ResolvedRefs` at the route's generation, through the status subresource (moving the route's
 * resourceVersion, as istiod's status writes do). A test can make it refuse a route, pause it (a slow or stopped
 * controller), and it reports `ResolvedRefs=False` for a backend Service that does not exist.
 */
import { RESOURCES, type ResourceDef } from './resources.js'
import { recordUpdate } from './ssa.js'
import { metaOf, type Store } from './store.js'
import { clone, deepEqual, isObj, nowIso, type Obj } from './util.js'

export interface RouteRefusal {
  /** The `Accepted=False` condition's reason, e.g. `NotAllowedByListeners`. */
  reason: string
  message: string
  /** Refuse only the routes (as stored) this picks; default: every version of the route. */
  when?: (route: Obj) => boolean
}

const R = (kind: string): ResourceDef => RESOURCES.find(r => r.kind === kind)!
const MANAGER = 'pilot-discovery'

function keyOf(ns: string, name: string): string {
  return `${ns}/${name}`
}

export class RouteController {
  private readonly refusals = new Map<string, RouteRefusal>()
  private readonly pending = new Map<string, NodeJS.Timeout>()
  private readonly held = new Set<string>()
  private paused = false
  private closed = false
  /** Status writes made, for tests that count them. */
  statusWrites = 0

  constructor(
    private readonly store: Store,
    private readonly delayMs: () => number
  ) {
    store.onRouteChange = (ns, name) => this.schedule(ns, name)
    store.onServiceChange = () => {
      for (const route of this.store.all(R('HTTPRoute'))) {
        const md = route.metadata as Obj
        this.schedule(String(md.namespace), String(md.name))
      }
    }
  }

  close(): void {
    this.closed = true
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
  }

  /** Reconciles the route after the controller delay (again from the start if it changes meanwhile). */
  schedule(ns: string, name: string): void {
    const key = keyOf(ns, name)
    if (this.paused) {
      this.held.add(key)
      return
    }
    const previous = this.pending.get(key)
    if (previous) clearTimeout(previous)
    const timer = setTimeout(() => {
      this.pending.delete(key)
      if (!this.closed) this.reconcile(ns, name)
    }, this.delayMs())
    this.pending.set(key, timer)
  }

  /** Stops writing status; the routes that change meanwhile are reconciled on `resume`. */
  pause(): void {
    this.paused = true
    for (const [key, timer] of this.pending) {
      clearTimeout(timer)
      this.held.add(key)
    }
    this.pending.clear()
  }

  resume(): void {
    this.paused = false
    for (const key of this.held) {
      const [ns, name] = key.split('/')
      this.schedule(ns, name)
    }
    this.held.clear()
  }

  /** Makes the controller refuse the route (`Accepted=False`), or accept it again with undefined. */
  refuse(ns: string, name: string, refusal: RouteRefusal | undefined): void {
    if (refusal) this.refusals.set(keyOf(ns, name), refusal)
    else this.refusals.delete(keyOf(ns, name))
    this.schedule(ns, name)
  }

  /** Backend Services (and mirror targets) the route names that do not exist, as istiod words them. */
  private missingBackends(route: Obj): string[] {
    const ns = String((route.metadata as Obj).namespace)
    const spec = isObj(route.spec) ? route.spec : {}
    const rules = (Array.isArray(spec.rules) ? spec.rules : []) as Obj[]
    const refs = rules.flatMap(rule => {
      const backendRefs = (Array.isArray(rule.backendRefs) ? rule.backendRefs : []) as Obj[]
      const filters = [
        ...(Array.isArray(rule.filters) ? rule.filters : []),
        ...backendRefs.flatMap(ref => (Array.isArray(ref.filters) ? ref.filters : []))
      ] as Obj[]
      const mirrors = filters.flatMap(f =>
        isObj(f.requestMirror) && isObj(f.requestMirror.backendRef) ? [f.requestMirror.backendRef] : []
      )
      return [...backendRefs, ...mirrors]
    })
    const missing = refs
      .filter(ref => (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service')
      .map(ref => ({ ns: String(ref.namespace ?? ns), name: String(ref.name) }))
      .filter(ref => !this.store.raw(R('Service'), ref.ns, ref.name))
      .map(ref => `${ref.name}.${ref.ns}.svc.cluster.local`)
    return [...new Set(missing)]
  }

  reconcile(ns: string, name: string): void {
    const route = this.store.raw(R('HTTPRoute'), ns, name)
    if (!route) return
    const md = route.metadata as Obj
    const generation = md.generation as number
    const spec = isObj(route.spec) ? route.spec : {}
    const parents = (Array.isArray(spec.parentRefs) ? spec.parentRefs : []) as Obj[]
    const previous = (
      isObj(route.status) && Array.isArray(route.status.parents) ? route.status.parents : []
    ) as Obj[]
    const rule = this.refusals.get(keyOf(ns, name))
    const refusal = rule && (!rule.when || rule.when(clone(route))) ? rule : undefined
    const missing = this.missingBackends(route)
    const now = nowIso()
    const entries = parents.map(parentRef => {
      const before = previous.find(entry => deepEqual(entry.parentRef, parentRef))
      const condition = (type: string, ok: boolean, reason: string, message: string): Obj => {
        const prior = ((before?.conditions ?? []) as Obj[]).find(c => c.type === type)
        const status = ok ? 'True' : 'False'
        return {
          type,
          status,
          observedGeneration: generation,
          lastTransitionTime: prior && prior.status === status ? prior.lastTransitionTime : now,
          reason,
          message
        }
      }
      return {
        parentRef: clone(parentRef),
        controllerName:
          parentRef.kind === 'Service' ? 'istio.io/mesh-controller' : 'istio.io/gateway-controller',
        conditions: [
          refusal
            ? condition('Accepted', false, refusal.reason, refusal.message)
            : condition('Accepted', true, 'Accepted', 'Route was valid'),
          missing.length
            ? condition('ResolvedRefs', false, 'BackendNotFound', `backend(${missing.join(', ')}) not found`)
            : condition('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved')
        ]
      }
    })
    const status = { parents: entries }
    if (deepEqual(route.status, status)) return
    const next = clone(route)
    next.status = status
    metaOf(next).managedFields = recordUpdate(
      route,
      next,
      MANAGER,
      'gateway.networking.k8s.io/v1',
      false,
      'status'
    )
    this.store.replaceRaw(R('HTTPRoute'), next)
    this.statusWrites++
  }
}
