/** Bookinfo `reviews` as a cluster holds it before a canary: the objects integration tests and the demo seed. */
import type { KubeObject } from './kube-api/index.js'

export function deployment(
  version: string,
  options: { service?: string; namespace?: string } = {}
): KubeObject {
  const service = options.service ?? 'reviews'
  const labels = { app: service, version }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${service}-${version}`, namespace: options.namespace ?? 'default', labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: service, image: `docker.io/istio/examples-bookinfo-${service}-${version}:1.20.2` }
          ]
        }
      }
    }
  }
}

/** An unrelated route (ratings) sits before the reviews route: it must never change. */
export const RATINGS_ROUTE = {
  name: 'ratings-route',
  match: [{ uri: { prefix: '/ratings' } }],
  rewrite: { uri: '/' },
  timeout: '3s',
  route: [{ destination: { host: 'ratings', subset: 'v1' } }]
}

export function reviewsVirtualService(namespace = 'default'): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace },
    spec: {
      hosts: ['reviews', 'bookinfo.example.com'],
      gateways: ['bookinfo-gateway', 'mesh'],
      http: [
        RATINGS_ROUTE,
        {
          name: 'reviews-route',
          match: [{ uri: { prefix: '/reviews' } }, { uri: { prefix: '/api/reviews' } }],
          retries: { attempts: 3, perTryTimeout: '2s' },
          route: [
            {
              destination: { host: 'reviews.default.svc.cluster.local', subset: 'v1', port: { number: 9080 } }
            }
          ]
        }
      ],
      tcp: [
        { match: [{ port: 27017 }], route: [{ destination: { host: 'mongo', port: { number: 27017 } } }] }
      ]
    }
  }
}

/** Where the ingress gateway's VirtualService is bound: its Gateway (`namespace/name`) and the host it serves. */
export const INGRESS_GATEWAY = 'istio-ingress/bookinfo-gateway'
export const INGRESS_HOST = 'bookinfo.example.com'

/**
 * The ingress gateway's VirtualService, in the gateway's namespace: the product page and the reviews API, whose
 * route names the service by its fully qualified name (a short name would mean a Service of istio-ingress).
 */
export function ingressVirtualService(): KubeObject {
  const [namespace, gateway] = INGRESS_GATEWAY.split('/')
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: INGRESS.name, namespace },
    spec: {
      hosts: [INGRESS_HOST],
      gateways: [`${namespace}/${gateway}`],
      http: [
        {
          name: 'productpage',
          match: [{ uri: { prefix: '/productpage' } }],
          route: [{ destination: { host: 'productpage.default.svc.cluster.local', port: { number: 9080 } } }]
        },
        {
          name: INGRESS.route,
          match: [{ uri: { prefix: '/api/v1/reviews' } }],
          timeout: '5s',
          route: [
            {
              destination: { host: 'reviews.default.svc.cluster.local', subset: 'v1', port: { number: 9080 } }
            }
          ]
        }
      ]
    }
  }
}

export function reviewsDestinationRule(namespace = 'default', versions = ['v1', 'v2', 'v3']): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'reviews', namespace },
    spec: {
      host: 'reviews',
      subsets: versions.map(version => ({ name: version, labels: { version } }))
    }
  }
}

export function bookinfoObjects(
  options: { versions?: string[]; router?: 'VirtualService' | 'RouteRule' | 'HTTPRoute' } = {}
): KubeObject[] {
  const versions = options.versions ?? ['v1', 'v2']
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews', namespace: 'default', labels: { app: 'reviews' } },
      spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] }
    },
    ...versions.map(version => deployment(version)),
    deployment('v1', { service: 'ratings' })
  ]
  if (options.router === 'HTTPRoute') {
    // Versions are Services; the ratings rule of the route needs its Service to resolve.
    objects.push(ratingsService(), ...versions.map(version => versionService(version)), reviewsHttpRoute())
  } else if (options.router !== 'RouteRule') objects.push(reviewsDestinationRule(), reviewsVirtualService())
  return objects
}

/** The modern ladder on a VirtualService, with nothing to watch so each advance passes at once. */
export const VS_PLAN = `
service: reviews
stable: v1
canary: v2
stages:
  - name: test-user
    match:
      headers:
        cookie: { regex: "^(.*?;)?(user=test-user)(;.*)?$" }
  - weight: 5
  - weight: 50
  - weight: 100
  - finalize: { deleteStable: true }
analysis:
  bake: 0s
`

/** The ingress gateway's VirtualService, in its own namespace, for releases over two routing objects. */
export const INGRESS = {
  namespace: INGRESS_GATEWAY.split('/')[0],
  name: 'bookinfo',
  route: 'reviews-ingress'
}

/** The ingress namespace and its VirtualService. */
export function ingressObjects(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS.namespace } },
    ingressVirtualService()
  ]
}

/** A plan over the mesh VirtualService and the ingress one (a plan text with `stable: v1`). */
export function withIngress(plan: string): string {
  return plan.replace(
    'stable: v1',
    `routing:\n  - name: reviews\n  - name: ${INGRESS.name}\n    namespace: ${INGRESS.namespace}\n    route: ${INGRESS.route}\nstable: v1`
  )
}

/** The Istio 0.2 tutorial as a plan. */
export const SEED_PLAN = `
service: reviews
router: RouteRule
stable: v1
canary: v2
stages:
  - name: test-user
    match:
      headers:
        cookie: { regex: "^(.*?;)?(user=test-user)(;.*)?$" }
  - weight: 50
  - weight: 100
  - finalize: { deleteStable: true }
analysis:
  bake: 0s
`

export const GATEWAY_API = 'gateway.networking.k8s.io/v1'

/** A Service for one version of `reviews` (Istio's traffic-shifting samples name them reviews-v1, reviews-v2). */
export function versionService(version: string, namespace = 'default'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `reviews-${version}`, namespace, labels: { app: 'reviews', version } },
    spec: { selector: { app: 'reviews', version }, ports: [{ name: 'http', port: 9080 }] }
  }
}

/** The mesh (GAMMA) route of `reviews`: its parent is the Service; an unrelated ratings rule sits before it. */
export function reviewsHttpRoute(namespace = 'default'): KubeObject {
  return {
    apiVersion: GATEWAY_API,
    kind: 'HTTPRoute',
    metadata: { name: 'reviews', namespace },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules: [
        {
          name: 'ratings',
          matches: [{ path: { type: 'PathPrefix', value: '/ratings' } }],
          backendRefs: [{ name: 'ratings', port: 9080 }]
        },
        {
          name: 'reviews-api',
          matches: [
            { path: { type: 'PathPrefix', value: '/reviews' } },
            { path: { type: 'PathPrefix', value: '/api/reviews' } }
          ],
          timeouts: { request: '5s' },
          backendRefs: [{ name: 'reviews', port: 9080 }]
        }
      ]
    }
  }
}

function ratingsService(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ratings', namespace: 'default', labels: { app: 'ratings' } },
    spec: { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] }
  }
}

/** The modern ladder on an HTTPRoute, nothing to watch. */
export const HTTPROUTE_PLAN = VS_PLAN.replace('service: reviews\n', 'service: reviews\nrouter: HTTPRoute\n')
