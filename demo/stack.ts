/**
 * What the demo starts: the Kubernetes API double seeded with Bookinfo's reviews (v1 serving, v2 and v3 deployed;
 * with a VirtualService, also the ingress gateway's; with an HTTPRoute, a Service per version, and the double's
 * Gateway API controller reporting on the route), the traffic simulator, real Prometheus scraping an exporter the
 * simulator feeds with the traffic it routes, and a fake GitHub; and how the demo reads the cluster back.
 */
import { execFile } from 'node:child_process'
import {
  bookinfoObjects,
  GATEWAY_API,
  INGRESS_GATEWAY,
  INGRESS_HOST,
  ingressVirtualService
} from '../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../testkit/github-api/fake-github.js'
import { startKubeApi, type KubeApi, type KubeObject } from '../testkit/kube-api/index.js'
import { startIstioExporter, type IstioExporter } from '../testkit/prometheus/istio-exporter.js'
import {
  findPrometheusBinary,
  startPrometheus,
  type PrometheusServer
} from '../testkit/prometheus/prometheus-server.js'
import { PROJECT_ROOT, type RunningAction } from '../testkit/run-action.js'
import { say, style } from './console.js'
import type { Workload } from './http-route-routing.js'
import type { RouterKind } from './plans.js'
import type { RoutingObjects } from './routing.js'
import { startTrafficSimulator, type TrafficEntry, type TrafficSimulator } from './traffic-simulator.js'
import { MESH } from './virtual-service-routing.js'

export const NETWORKING = 'networking.istio.io/v1'
export const CONFIG = 'config.istio.io/v1alpha2'
export const NAMESPACE = 'default'
export const INGRESS_NAMESPACE = INGRESS_GATEWAY.split('/')[0]
export const SERVICE = 'reviews'
export const SHA = 'c0ffee0000000000000000000000000000000042'
export const PR_NUMBER = 42

export interface Stack {
  api: KubeApi
  simulator: TrafficSimulator
  github: FakeGitHub
  exporter?: IstioExporter
  prometheus?: PrometheusServer
  /** Why the success rate is read from the simulator over HTTP instead of from Prometheus. */
  prometheusUnavailable?: string
  /** The action run in progress, if any. */
  running?: RunningAction
}

/**
 * Starts everything, recording each part in `stack` as soon as it runs (so stopStack closes whatever started,
 * however far this got); resolves to the whole stack.
 */
export async function startStack(
  stack: Partial<Stack>,
  options: { router: RouterKind; prometheus: boolean },
  signal: AbortSignal
): Promise<Stack> {
  const api = (stack.api = await startKubeApi({ rolloutDelayMs: 20 }))
  // Routing as a VirtualService (the mesh's and the ingress gateway's), an HTTPRoute (versions are Services),
  // or (Istio 0.2) no RouteRule yet.
  api.seed(bookinfoObjects({ versions: ['v1', 'v2', 'v3'], router: options.router }))
  if (options.router === 'VirtualService')
    api.seed([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE } },
      ingressVirtualService()
    ])
  if (options.prometheus) {
    stack.exporter = await startIstioExporter({
      service: SERVICE,
      namespace: NAMESPACE,
      // Gateway API routes tell versions apart by their backend Service, as a mesh reports them.
      destination: options.router === 'HTTPRoute' ? 'backend-service' : 'service'
    })
  }
  stack.simulator = await startTrafficSimulator({
    service: SERVICE,
    namespace: NAMESPACE,
    router: options.router,
    readRouting: () => readRouting(api),
    entries: trafficEntries(options.router),
    backends: {
      v1: { errorRate: 0, latencyMs: [15, 40] },
      v2: { errorRate: 0, latencyMs: [20, 45] },
      // The faulty release: half its answers are 5xx from its very first request.
      v3: { errorRate: 0.5, latencyMs: [30, 90] }
    },
    exporter: stack.exporter
  })
  stack.github = await startFakeGitHub({ pulls: [{ number: PR_NUMBER, headSha: SHA }] })
  if (!stack.exporter) stack.prometheusUnavailable = 'disabled by --no-prometheus'
  else {
    try {
      await ensurePrometheus(signal)
      stack.prometheus = await startPrometheus({ targets: [stack.exporter.url], startTimeoutMs: 20_000 })
    } catch (error) {
      stack.prometheusUnavailable = (error as Error).message.trim()
    }
  }
  return stack as Stack
}

/** Share of the users who come through the ingress gateway, where it has a VirtualService of the release. */
export const INGRESS_SHARE = 0.3

/** Users call reviews from inside the mesh; with a VirtualService, some come through the ingress gateway. */
function trafficEntries(router: RouterKind): TrafficEntry[] {
  const mesh = { name: 'mesh', entry: MESH, authority: `${SERVICE}:9080`, pathPrefix: '/reviews' }
  if (router !== 'VirtualService') return [{ ...mesh, share: 1 }]
  return [
    { ...mesh, share: 1 - INGRESS_SHARE },
    {
      name: 'ingress',
      entry: { gateway: INGRESS_GATEWAY, host: INGRESS_HOST },
      authority: INGRESS_HOST,
      pathPrefix: '/api/v1/reviews',
      share: INGRESS_SHARE
    }
  ]
}

/**
 * Prometheus on PATH or in .tools/, else Debian's package unpacked into .tools/ the way `npm test` does it (no
 * root needed); rejects with what the unpacking said when that fails.
 */
async function ensurePrometheus(signal: AbortSignal): Promise<void> {
  let missing: string
  try {
    findPrometheusBinary()
    return
  } catch (error) {
    missing = (error as Error).message
  }
  say(style.dim("prometheus: unpacking Debian's package into .tools/ (once)"))
  await new Promise<void>((resolve, reject) =>
    execFile(
      'bash',
      ['scripts/test-tools.sh', 'prometheus'],
      { cwd: PROJECT_ROOT, signal },
      (error, _, stderr) =>
        error
          ? reject(new Error(`${missing}\nunpacking it failed: ${stderr.trim() || error.message}`))
          : resolve()
    )
  )
}

export async function stopStack(stack: Partial<Stack>): Promise<void> {
  const running = stack.running
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    // The action applies onCancel (rollback) on SIGINT; give it a moment, then make sure it is gone.
    running.child.kill('SIGINT')
    const exited = await Promise.race([
      running.result.then(() => true),
      new Promise<boolean>(resolve => setTimeout(() => resolve(false), 10_000))
    ])
    if (!exited) running.child.kill('SIGKILL')
  }
  await stack.simulator?.close().catch(() => {})
  await stack.prometheus?.close().catch(() => {})
  await stack.exporter?.close().catch(() => {})
  await stack.github?.close().catch(() => {})
  await stack.api?.close().catch(() => {})
}

// ---------------------------------------------------------------------------------------------- the cluster

export function routingObjects(api: KubeApi, router: RouterKind): KubeObject[] {
  if (router === 'RouteRule') return api.list(CONFIG, 'RouteRule', NAMESPACE)
  if (router === 'HTTPRoute') return api.list(GATEWAY_API, 'HTTPRoute', NAMESPACE)
  return [
    ...api.list(NETWORKING, 'VirtualService', NAMESPACE),
    ...api.list(NETWORKING, 'VirtualService', INGRESS_NAMESPACE),
    ...api.list(NETWORKING, 'DestinationRule', NAMESPACE)
  ]
}

export function reviewsDeployments(api: KubeApi): string[] {
  return api
    .list('apps/v1', 'Deployment', NAMESPACE)
    .filter(deployment => (deployment.metadata.labels as Record<string, string> | undefined)?.app === SERVICE)
    .map(deployment => deployment.metadata.name)
    .sort()
}

function workloads(api: KubeApi): Workload[] {
  return api.list('apps/v1', 'Deployment', NAMESPACE).map(deployment => {
    const spec = deployment.spec as {
      replicas?: number
      template?: { metadata?: { labels?: Record<string, string> } }
    }
    return {
      namespace: NAMESPACE,
      labels: spec.template?.metadata?.labels ?? {},
      replicas: spec.replicas ?? 1
    }
  })
}

function readRouting(api: KubeApi): RoutingObjects {
  const deployed = workloads(api)
    .map(workload => workload.labels)
    .filter(labels => labels.app === SERVICE && typeof labels.version === 'string')
    .map(labels => labels.version)
    .sort()
  return {
    virtualServices: [
      ...api.list(NETWORKING, 'VirtualService', NAMESPACE),
      ...api.list(NETWORKING, 'VirtualService', INGRESS_NAMESPACE)
    ],
    destinationRules: api.list(NETWORKING, 'DestinationRule', NAMESPACE),
    routeRules: api.list(CONFIG, 'RouteRule', NAMESPACE),
    httpRoutes: api.list(GATEWAY_API, 'HTTPRoute', NAMESPACE),
    services: api.list('v1', 'Service', NAMESPACE),
    workloads: workloads(api),
    deployedVersions: deployed
  }
}

type Weighted = { weight?: number }

/** Percent of each entry's traffic, keyed by label, given each entry's relative weight (Gateway API: 1 unset). */
function percents<T extends Weighted>(
  entries: T[],
  label: (entry: T) => string,
  unset: (count: number) => number
): Record<string, number> {
  const weightOf = (entry: T) => entry.weight ?? unset(entries.length)
  const total = entries.reduce((sum, entry) => sum + weightOf(entry), 0)
  return Object.fromEntries(
    entries.map(entry => [label(entry), total > 0 ? (100 * weightOf(entry)) / total : 0])
  )
}

/** Istio's weights: an only destination without a weight takes everything, others without one nothing. */
const istioUnset = (count: number) => (count === 1 ? 100 : 0)

/**
 * Percent of each shifted route's traffic on each version, straight from the routing objects, keyed by where the
 * route is (`VirtualService istio-ingress/bookinfo reviews-ingress`).
 */
export function configuredSplits(api: KubeApi, router: RouterKind): Record<string, Record<string, number>> {
  const specOf = (apiVersion: string, kind: string, namespace: string, name: string) =>
    (api.get(apiVersion, kind, namespace, name)?.spec ?? {}) as Record<string, unknown>
  if (router === 'RouteRule') {
    const routes = (specOf(CONFIG, 'RouteRule', NAMESPACE, `${SERVICE}-default`).route ?? []) as ({
      labels?: Record<string, string>
    } & Weighted)[]
    return {
      [`RouteRule ${SERVICE}-default`]: percents(routes, route => route.labels?.version ?? '?', istioUnset)
    }
  }
  if (router === 'HTTPRoute') {
    const rules = (specOf(GATEWAY_API, 'HTTPRoute', NAMESPACE, SERVICE).rules ?? []) as {
      name?: string
      backendRefs?: ({ name: string } & Weighted)[]
    }[]
    const refs = rules.find(rule => rule.name === 'reviews-api')?.backendRefs ?? []
    return {
      [`HTTPRoute ${NAMESPACE}/${SERVICE} reviews-api`]: percents(
        refs,
        ref => ref.name.replace(`${SERVICE}-`, ''),
        () => 1
      )
    }
  }
  const routeSplit = (namespace: string, name: string, route: string) => {
    const http = (specOf(NETWORKING, 'VirtualService', namespace, name).http ?? []) as {
      name?: string
      route?: ({ destination: { subset?: string } } & Weighted)[]
    }[]
    const destinations = http.find(entry => entry.name === route)?.route ?? []
    return percents(destinations, destination => destination.destination.subset ?? '?', istioUnset)
  }
  return {
    [`VirtualService ${NAMESPACE}/${SERVICE} reviews-route`]: routeSplit(NAMESPACE, SERVICE, 'reviews-route'),
    [`VirtualService ${INGRESS_NAMESPACE}/bookinfo reviews-ingress`]: routeSplit(
      INGRESS_NAMESPACE,
      'bookinfo',
      'reviews-ingress'
    )
  }
}

/** The controller's verdict on the HTTPRoute: its conditions, and the generation they speak for. */
export function routeAcceptance(api: KubeApi): string | undefined {
  const route = api.get(GATEWAY_API, 'HTTPRoute', NAMESPACE, SERVICE)
  const parents =
    (route?.status as { parents?: { conditions?: Record<string, unknown>[] }[] } | undefined)?.parents ?? []
  const conditions = parents[0]?.conditions ?? []
  if (conditions.length === 0) return undefined
  const described = conditions.map(condition => `${String(condition.type)}=${String(condition.status)}`)
  return `${described.join(', ')} at generation ${String(conditions[0].observedGeneration)} (of ${String(route?.metadata.generation)})`
}
