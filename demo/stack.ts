/**
 * What the demo starts: the Kubernetes API double seeded with Bookinfo's reviews (v1 serving, v2 and v3 deployed),
 * the traffic simulator, real Prometheus scraping an exporter the simulator feeds with the traffic it routes, and
 * a fake GitHub; and how the demo reads the cluster back.
 */
import { execFile } from 'node:child_process'
import { bookinfoObjects } from '../testkit/bookinfo.js'
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
import type { RouterKind } from './plans.js'
import type { RoutingObjects } from './routing.js'
import { startTrafficSimulator, type TrafficSimulator } from './traffic-simulator.js'

export const NETWORKING = 'networking.istio.io/v1'
export const CONFIG = 'config.istio.io/v1alpha2'
export const NAMESPACE = 'default'
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
  // Routing as a VirtualService, or (Istio 0.2) no RouteRule yet.
  api.seed(bookinfoObjects({ versions: ['v1', 'v2', 'v3'], router: options.router }))
  if (options.prometheus)
    stack.exporter = await startIstioExporter({ service: SERVICE, namespace: NAMESPACE })
  stack.simulator = await startTrafficSimulator({
    service: SERVICE,
    namespace: NAMESPACE,
    router: options.router,
    readRouting: () => readRouting(api),
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
  return [
    ...api.list(NETWORKING, 'VirtualService', NAMESPACE),
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

function readRouting(api: KubeApi): RoutingObjects {
  const deployed = api
    .list('apps/v1', 'Deployment', NAMESPACE)
    .map(deployment => deployment.metadata.labels as Record<string, string> | undefined)
    .filter(labels => labels?.app === SERVICE && typeof labels.version === 'string')
    .map(labels => labels!.version)
    .sort()
  return {
    virtualServices: api.list(NETWORKING, 'VirtualService', NAMESPACE),
    destinationRules: api.list(NETWORKING, 'DestinationRule', NAMESPACE),
    routeRules: api.list(CONFIG, 'RouteRule', NAMESPACE),
    deployedVersions: deployed
  }
}

/** Percent of the shifted route's traffic on each version, straight from the routing objects. */
export function configuredSplit(api: KubeApi, router: RouterKind): Record<string, number> {
  const split: Record<string, number> = {}
  if (router === 'RouteRule') {
    const rule = api.get(CONFIG, 'RouteRule', NAMESPACE, `${SERVICE}-default`)
    const routes = ((rule?.spec as Record<string, unknown> | undefined)?.route ?? []) as {
      labels?: Record<string, string>
      weight?: number
    }[]
    for (const route of routes)
      split[route.labels?.version ?? '?'] = route.weight ?? (routes.length === 1 ? 100 : 0)
    return split
  }
  const vs = api.get(NETWORKING, 'VirtualService', NAMESPACE, SERVICE)
  const http = ((vs?.spec as Record<string, unknown> | undefined)?.http ?? []) as {
    name?: string
    route?: { destination: { subset?: string }; weight?: number }[]
  }[]
  const route = http.find(entry => entry.name === 'reviews-route')
  for (const destination of route?.route ?? [])
    split[destination.destination.subset ?? '?'] =
      destination.weight ?? ((route?.route ?? []).length === 1 ? 100 : 0)
  return split
}
