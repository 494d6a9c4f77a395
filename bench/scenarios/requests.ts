/**
 * The Kubernetes API requests of one weight-stage transition (test-user -> 5%, nothing to watch), for every router
 * and for a release over two routing objects in two namespaces: what a run costs the API server, by kind of request.
 */
import {
  bookinfoObjects,
  HTTPROUTE_PLAN,
  ingressObjects,
  SEED_PLAN,
  VS_PLAN,
  withIngress
} from '../../testkit/bookinfo.js'
import { startKubeApi, type RecordedRequest } from '../../testkit/kube-api/index.js'
import { startAction } from '../../testkit/run-action.js'
import { actionInputs, describeFailure, isWrite, requestLabel } from './setup.js'

export interface RequestsCase {
  name: string
  router: 'VirtualService' | 'RouteRule' | 'HTTPRoute'
  objects: number
  plan: string
  seed: () => ReturnType<typeof bookinfoObjects>
}

export const REQUEST_CASES: RequestsCase[] = [
  {
    name: 'VirtualService',
    router: 'VirtualService',
    objects: 1,
    plan: VS_PLAN,
    seed: () => bookinfoObjects()
  },
  {
    name: 'VirtualService, mesh + ingress (two namespaces)',
    router: 'VirtualService',
    objects: 2,
    plan: withIngress(VS_PLAN),
    seed: () => [...bookinfoObjects(), ...ingressObjects()]
  },
  {
    name: 'RouteRule (Istio 0.2)',
    router: 'RouteRule',
    objects: 2,
    plan: SEED_PLAN,
    seed: () => bookinfoObjects({ router: 'RouteRule' })
  },
  {
    name: 'HTTPRoute',
    router: 'HTTPRoute',
    objects: 1,
    plan: HTTPROUTE_PLAN,
    seed: () => bookinfoObjects({ router: 'HTTPRoute' })
  }
]

export interface RequestsResult {
  name: string
  /** Routing objects the release manages. */
  objects: number
  /** Every request of the transition, discovery excluded. */
  requests: number
  /** Reads of the routing objects (their state and spec) before the write. */
  routingReads: number
  /** Reads of the routing objects after the write, while waiting for the controller (HTTPRoute status). */
  statusReads: number
  /** Other reads: versions (DestinationRule, Services, Deployments). */
  otherReads: number
  writes: number
  /** The requests in order. */
  log: string[]
}

const ROUTING_RESOURCES = new Set(['virtualservices', 'routerules', 'httproutes'])

function classify(requests: RecordedRequest[]): Omit<RequestsResult, 'name' | 'objects' | 'log'> {
  const firstWrite = requests.findIndex(isWrite)
  const routing = (request: RecordedRequest) => ROUTING_RESOURCES.has(request.resource ?? '')
  const reads = requests.filter(request => !isWrite(request))
  return {
    requests: requests.length,
    routingReads: reads.filter(r => routing(r) && requests.indexOf(r) < firstWrite).length,
    statusReads: reads.filter(r => routing(r) && requests.indexOf(r) > firstWrite).length,
    otherReads: reads.filter(r => !routing(r)).length,
    writes: requests.filter(isWrite).length
  }
}

/** Seeds the case, advances to the test-user stage, then counts the requests of the advance to 5%. */
export async function measureTransitionRequests(
  options: { latencyMs: number },
  cases: RequestsCase[] = REQUEST_CASES
): Promise<RequestsResult[]> {
  const results: RequestsResult[] = []
  for (const c of cases) {
    const api = await startKubeApi({ latencyMs: options.latencyMs })
    try {
      api.seed(c.seed())
      await api.deploymentsAvailable()
      const first = await startAction({ inputs: actionInputs(api, c.plan) }).result
      if (first.exitCode !== 0) throw describeFailure(`${c.name}: advance to test-user`, first)
      api.clearRequests()
      const second = await startAction({ inputs: actionInputs(api, c.plan) }).result
      if (second.exitCode !== 0) throw describeFailure(`${c.name}: advance to the first weight`, second)
      const requests = api.requests.filter(request => request.verb !== 'discovery')
      results.push({
        name: c.name,
        objects: c.objects,
        ...classify(requests),
        log: requests.map(requestLabel)
      })
    } finally {
      await api.close()
    }
  }
  return results
}
