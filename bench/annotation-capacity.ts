/**
 * How large a release fits the Kubernetes limit of 256 KiB for all annotations of one object: the state and the
 * rollback target of a release live on its first routing object and cover every object. The routes are made
 * varied (names, paths, hosts, timeouts, retries, headers), as real ones are, so compression does not flatter
 * the figure. Pure computation: no cluster.
 */
import {
  encodeState,
  encodeTarget,
  stateAnnotation,
  targetAnnotation,
  type ReleaseState
} from '../src/engine/state.js'
import type { RoutingSpecs } from '../src/routers/router.js'

/** The apiserver's limit on the total size of an object's annotation keys and values. */
export const ANNOTATIONS_LIMIT_BYTES = 256 * 1024

const REF = { service: 'reviews', namespace: 'default' }

/** A small deterministic generator, so the figure is the same on every machine. */
function generator(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

function word(random: () => number, length: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return Array.from({ length }, () => letters[Math.floor(random() * letters.length)]).join('')
}

/** A VirtualService of `routes` varied http routes, one of which sends traffic to the service. */
export function variedVirtualService(routes: number, seed: number): RoutingSpecs[string] {
  const random = generator(seed)
  const http = Array.from({ length: routes }, (_, index) => ({
    name: `route-${index}-${word(random, 6)}`,
    match: [
      {
        uri: { prefix: `/${word(random, 5)}/${word(random, 8)}` },
        headers: { 'x-team': { exact: word(random, 7) } }
      }
    ],
    timeout: `${1 + Math.floor(random() * 30)}s`,
    retries: { attempts: 1 + Math.floor(random() * 5), perTryTimeout: `${1 + Math.floor(random() * 5)}s` },
    route: [
      {
        destination: {
          host:
            index === 0
              ? 'reviews.default.svc.cluster.local'
              : `${word(random, 8)}.${word(random, 6)}.svc.cluster.local`,
          subset: index === 0 ? 'v1' : `v${1 + Math.floor(random() * 3)}`,
          port: { number: 8000 + Math.floor(random() * 2000) }
        }
      }
    ]
  }))
  return { hosts: ['reviews', `${word(random, 10)}.example.com`], gateways: ['mesh'], http }
}

/** A state with a full history of long events: the largest the action writes in practice. */
function largestState(objects: string[]): ReleaseState {
  const at = '2026-01-01T00:00:00.000Z'
  return {
    release: {
      ...REF,
      stable: 'v1',
      canary: 'v2',
      revision: `v2-${'0'.repeat(40)}`,
      ladder: '0123456789abcdef',
      objects
    },
    stageIndex: 4,
    phase: 'watching',
    appliedAt: at,
    runId: '12345678901',
    written: Object.fromEntries(objects.map(key => [key, '0123456789abcdef'])),
    unmanaged: Object.fromEntries(objects.map(key => [key, '0123456789abcdef'])),
    history: Array.from({ length: 40 }, (_, index) => ({
      at,
      revision: `v2-${'0'.repeat(40)}`,
      event: `rolled back: success-rate ${'x'.repeat(180)} ${index}`,
      runId: '12345678901',
      stageIndex: 4,
      weight: 50
    }))
  }
}

/** Bytes the release's two annotations take on the first object, keys included. */
export function annotationBytes(objects: number, routesPerObject: number): number {
  const keys = Array.from({ length: objects }, (_, index) => `istio-ingress-${index}/route-object-${index}`)
  const target: RoutingSpecs = Object.fromEntries(
    keys.map((key, index) => [key, variedVirtualService(routesPerObject, index + 1)])
  )
  const state = encodeState(largestState(keys))
  const encodedTarget = encodeTarget(target)
  return (
    Buffer.byteLength(stateAnnotation(REF)) +
    Buffer.byteLength(state) +
    Buffer.byteLength(targetAnnotation(REF)) +
    Buffer.byteLength(encodedTarget)
  )
}

/** The most routes per object that fit, for a release over `objects` objects, with `reserved` bytes for other annotations. */
export function largestFit(objects: number, reserved = 0): number {
  let fits = 0
  let tooMany = 1
  while (annotationBytes(objects, tooMany) + reserved <= ANNOTATIONS_LIMIT_BYTES) {
    fits = tooMany
    tooMany *= 2
  }
  while (tooMany - fits > 1) {
    const middle = Math.floor((fits + tooMany) / 2)
    if (annotationBytes(objects, middle) + reserved <= ANNOTATIONS_LIMIT_BYTES) fits = middle
    else tooMany = middle
  }
  return fits
}
