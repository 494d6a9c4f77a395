/**
 * Whether a Gateway API controller has accepted a written route: every parent the route names reports
 * `Accepted=True` and `ResolvedRefs=True` for (at least) the written generation. The controller writes that status
 * a little after each spec change (istiod does, moving the route's resourceVersion); until it does, the status is
 * the previous generation's and says nothing about what was written.
 */
import type { KubeClient, KubeObject, ResourceType } from '../kube/kube-client.js'
import type { Acceptance } from './router.js'

interface Condition {
  type?: string
  status?: string
  reason?: string
  message?: string
  observedGeneration?: number
}

interface ParentRef {
  group?: string
  kind?: string
  namespace?: string
  name?: string
  sectionName?: string
  port?: number
}

interface ParentStatus {
  parentRef?: ParentRef
  controllerName?: string
  conditions?: Condition[]
}

/** What one read of a route says about the written generation. */
export type RouteVerdict =
  | { kind: 'accepted' }
  | { kind: 'pending'; waitingFor: string }
  | { kind: 'refused'; parent: string; reason: string; message: string }

const REQUIRED = ['Accepted', 'ResolvedRefs'] as const

function normalized(
  ref: ParentRef,
  routeNamespace: string
): Required<Pick<ParentRef, 'group' | 'kind'>> & ParentRef {
  return {
    ...ref,
    group: ref.group ?? 'gateway.networking.k8s.io',
    kind: ref.kind ?? 'Gateway',
    namespace: ref.namespace ?? routeNamespace
  }
}

function sameParent(a: ParentRef, b: ParentRef, routeNamespace: string): boolean {
  const x = normalized(a, routeNamespace)
  const y = normalized(b, routeNamespace)
  return (
    x.group === y.group &&
    x.kind === y.kind &&
    x.namespace === y.namespace &&
    x.name === y.name &&
    x.sectionName === y.sectionName &&
    x.port === y.port
  )
}

/** `Service default/reviews port 9080`, `Gateway istio-ingress/bookinfo-gateway`. */
export function describeParent(ref: ParentRef, routeNamespace: string): string {
  const { kind, namespace, name, sectionName, port } = normalized(ref, routeNamespace)
  return `${kind} ${namespace}/${name}${sectionName ? ` section ${sectionName}` : ''}${port ? ` port ${port}` : ''}`
}

/** The verdict of one parent's status entries (several controllers may report on one parent). */
function parentVerdict(entries: ParentStatus[], generation: number, parent: string): RouteVerdict {
  let seen: number | undefined
  for (const entry of entries) {
    const conditions = entry.conditions ?? []
    const current = REQUIRED.map(type =>
      conditions.find(c => c.type === type && (c.observedGeneration ?? -1) >= generation)
    )
    for (const condition of conditions) {
      if (condition.observedGeneration !== undefined) seen = Math.max(seen ?? 0, condition.observedGeneration)
    }
    const refusal = current.find(c => c !== undefined && c.status === 'False')
    if (refusal) {
      return {
        kind: 'refused',
        parent,
        reason: `${refusal.type}=False${refusal.reason ? ` (${refusal.reason})` : ''}`,
        message: refusal.message ?? ''
      }
    }
    if (current.every(c => c?.status === 'True')) return { kind: 'accepted' }
  }
  const last = seen === undefined ? 'no status yet' : `its status is for generation ${seen}`
  return { kind: 'pending', waitingFor: `${parent} (${last})` }
}

/** What `route`'s status says about `generation`: accepted by every parent, refused by one, or not reported yet. */
export function routeVerdict(route: KubeObject, generation: number): RouteVerdict {
  const namespace = route.metadata.namespace ?? ''
  const parents = (Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : []) as ParentRef[]
  const status = route.status as { parents?: ParentStatus[] } | undefined
  const reported = Array.isArray(status?.parents) ? status.parents : []
  const waiting: string[] = []
  for (const parent of parents) {
    const entries = reported.filter(
      entry => entry.parentRef && sameParent(entry.parentRef, parent, namespace)
    )
    const verdict = parentVerdict(entries, generation, describeParent(parent, namespace))
    if (verdict.kind === 'refused') return verdict
    if (verdict.kind === 'pending') waiting.push(verdict.waitingFor)
  }
  return waiting.length ? { kind: 'pending', waitingFor: waiting.join('; ') } : { kind: 'accepted' }
}

/** Delay before the n-th status read (0-based): 100 ms, then half as long again each time, at most a second. */
export function pollDelayMs(attempt: number): number {
  return Math.min(1000, Math.round(100 * 1.5 ** attempt))
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * Reads each written route until its controller reports on the written generation: accepted, refused (at once,
 * with the condition's reason and message), or not reported within `timeoutMs`.
 */
export async function awaitRoutesAccepted(
  kube: KubeClient,
  type: ResourceType,
  written: KubeObject[],
  timeoutMs: number,
  signal: AbortSignal
): Promise<Acceptance> {
  const started = Date.now()
  const latest = new Map(written.map(object => [keyOf(object), object]))
  const generations = new Map(written.map(object => [keyOf(object), object.metadata.generation ?? 0]))
  const pending = new Set(latest.keys())
  let reads = 0
  let waitingFor = ''
  const result = (): Pick<Acceptance, 'latest' | 'reads' | 'waitedMs'> => ({
    latest: [...latest.values()],
    reads,
    waitedMs: Date.now() - started
  })
  for (let attempt = 0; ; attempt++) {
    const left = timeoutMs - (Date.now() - started)
    if (signal.aborted || left <= 0) {
      const [key] = pending
      return {
        ...result(),
        accepted: false,
        where: `${type.kind} ${key}`,
        reason: signal.aborted ? 'Cancelled' : 'Timeout',
        message: `${signal.aborted ? 'the run was cancelled' : `no answer within ${timeoutMs / 1000}s`} while waiting for the controller's status; waiting for ${waitingFor || 'the first read'}`
      }
    }
    await sleep(Math.min(pollDelayMs(attempt), left), signal)
    if (signal.aborted) continue
    const waits: string[] = []
    for (const key of [...pending]) {
      const { namespace = '', name } = (latest.get(key) as KubeObject).metadata
      const fresh = await kube.getCustom(type, namespace, name)
      reads++
      if (!fresh) {
        return {
          ...result(),
          accepted: false,
          where: `${type.kind} ${key}`,
          reason: 'NotFound',
          message: 'the route was deleted while waiting for its status'
        }
      }
      latest.set(key, fresh)
      const verdict = routeVerdict(fresh, generations.get(key) ?? 0)
      if (verdict.kind === 'refused') {
        return {
          ...result(),
          accepted: false,
          where: `${type.kind} ${key}, parent ${verdict.parent}`,
          reason: verdict.reason,
          message: verdict.message
        }
      }
      if (verdict.kind === 'accepted') pending.delete(key)
      else waits.push(`${key}: ${verdict.waitingFor}`)
    }
    waitingFor = waits.join('; ')
    if (pending.size === 0) return { ...result(), accepted: true }
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`
}
