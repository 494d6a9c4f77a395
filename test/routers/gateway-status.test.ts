import { describe, expect, it } from '@jest/globals'
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js'
import { awaitRoutesAccepted, pollDelayMs, routeVerdict } from '../../src/routers/gateway-status.js'
import { HTTP_ROUTE } from '../../src/routers/http-route.js'

const MESH = { group: '', kind: 'Service', name: 'reviews', port: 9080 }
const GATEWAY = { name: 'bookinfo-gateway', namespace: 'istio-ingress' }

function condition(type: string, status: string, generation: number, reason = type, message = '') {
  return {
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: '2025-01-01T00:00:00Z'
  }
}

function entry(parentRef: object, generation: number, accepted = 'True', resolved = 'True') {
  return {
    parentRef,
    controllerName: 'istio.io/gateway-controller',
    conditions: [condition('Accepted', accepted, generation), condition('ResolvedRefs', resolved, generation)]
  }
}

function route(generation: number, parents: object[], status: object[]): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'reviews', namespace: 'default', generation },
    spec: { parentRefs: parents },
    status: { parents: status }
  }
}

describe('routeVerdict', () => {
  it('accepts when every parent reports Accepted and ResolvedRefs True at the written generation or later', () => {
    expect(routeVerdict(route(3, [MESH], [entry(MESH, 3)]), 3)).toEqual({ kind: 'accepted' })
    expect(routeVerdict(route(4, [MESH], [entry(MESH, 4)]), 3)).toEqual({ kind: 'accepted' })
  })

  it('waits while the status is an older generation, or a parent has none', () => {
    expect(routeVerdict(route(3, [MESH], [entry(MESH, 2)]), 3)).toEqual({
      kind: 'pending',
      waitingFor: 'Service default/reviews port 9080 (its status is for generation 2)'
    })
    expect(routeVerdict(route(3, [MESH, GATEWAY], [entry(MESH, 3)]), 3)).toEqual({
      kind: 'pending',
      waitingFor: 'Gateway istio-ingress/bookinfo-gateway (no status yet)'
    })
  })

  it("matches a parent written with the API's defaults to its status entry", () => {
    const written = { name: 'bookinfo-gateway' }
    const reported = {
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      name: 'bookinfo-gateway',
      namespace: 'default'
    }
    expect(routeVerdict(route(2, [written], [entry(reported, 2)]), 2)).toEqual({ kind: 'accepted' })
  })

  it("refuses with the condition's reason and message", () => {
    const refused = {
      parentRef: MESH,
      conditions: [
        condition('Accepted', 'False', 5, 'NotAllowedByListeners', 'no listener allows this route'),
        condition('ResolvedRefs', 'True', 5)
      ]
    }
    expect(routeVerdict(route(5, [MESH], [refused]), 5)).toEqual({
      kind: 'refused',
      parent: 'Service default/reviews port 9080',
      reason: 'Accepted=False (NotAllowedByListeners)',
      message: 'no listener allows this route'
    })
    const unresolved = route(5, [MESH], [entry(MESH, 5, 'True', 'False')])
    expect(routeVerdict(unresolved, 5)).toMatchObject({
      kind: 'refused',
      reason: 'ResolvedRefs=False (ResolvedRefs)'
    })
  })

  it('does not take an old refusal for a verdict on the new generation', () => {
    expect(routeVerdict(route(6, [MESH], [entry(MESH, 5, 'False')]), 6).kind).toBe('pending')
  })
})

describe('awaitRoutesAccepted', () => {
  /** A client whose reads of the route return `answers` in turn (the last one again when they run out). */
  function kubeAnswering(answers: KubeObject[]): KubeClient & { reads: number } {
    const kube = {
      reads: 0,
      async getCustom() {
        const answer = answers[Math.min(kube.reads, answers.length - 1)]
        kube.reads++
        return answer
      }
    }
    return kube as unknown as KubeClient & { reads: number }
  }

  const signal = new AbortController().signal

  it('reads until the controller reports on the written generation, and returns the last read', async () => {
    const written = route(3, [MESH], [entry(MESH, 2)])
    const answers = [written, written, route(3, [MESH], [entry(MESH, 3)])]
    const kube = kubeAnswering(answers)
    const verdict = await awaitRoutesAccepted(kube, HTTP_ROUTE, [written], 10_000, signal)
    expect(verdict).toMatchObject({ accepted: true, reads: 3, latest: [answers[2]] })
    expect(verdict.waitedMs).toBeGreaterThanOrEqual(pollDelayMs(0) + pollDelayMs(1) + pollDelayMs(2))
  })

  it('stops at the first refusal', async () => {
    const written = route(3, [MESH], [entry(MESH, 2)])
    const kube = kubeAnswering([route(3, [MESH], [entry(MESH, 3, 'False')])])
    expect(await awaitRoutesAccepted(kube, HTTP_ROUTE, [written], 10_000, signal)).toMatchObject({
      accepted: false,
      where: 'HTTPRoute default/reviews, parent Service default/reviews port 9080',
      reason: 'Accepted=False (Accepted)',
      reads: 1
    })
  })

  it('gives up after the timeout, saying what it waited for', async () => {
    const written = route(3, [MESH], [entry(MESH, 2)])
    const verdict = await awaitRoutesAccepted(kubeAnswering([written]), HTTP_ROUTE, [written], 400, signal)
    expect(verdict).toMatchObject({
      accepted: false,
      reason: 'Timeout',
      message:
        "no answer within 0.4s while waiting for the controller's status; waiting for default/reviews: Service default/reviews port 9080 (its status is for generation 2)"
    })
  })

  it('stops when the run is cancelled', async () => {
    const written = route(3, [MESH], [entry(MESH, 2)])
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const verdict = await awaitRoutesAccepted(
      kubeAnswering([written]),
      HTTP_ROUTE,
      [written],
      60_000,
      controller.signal
    )
    expect(verdict).toMatchObject({ accepted: false, reason: 'Cancelled' })
    expect(verdict.waitedMs).toBeLessThan(1000)
  })
})
