import { describe, expect, it } from '@jest/globals'
import { parsePlan } from '../../src/engine/plan-loader.js'
import type { CheckBase, Plan } from '../../src/plan/types.js'

/** The example plan of the user-facing contract, verbatim. */
const CONTRACT_EXAMPLE = `
service: reviews              # required: the Kubernetes Service / Istio destination host
namespace: default            # default: default
router: VirtualService        # VirtualService (networking.istio.io) | RouteRule (config.istio.io/v1alpha2)
routing:
  name: reviews               # VirtualService name, or the RouteRule base name; default: service
  route: ''                   # VirtualService: the name of the one http route to shift
stable: v1
canary: v2
versionLabel: version
deploy:
  manifests: [k8s/reviews-v2.yaml]
  timeout: 5m
stages:
  - name: test-user
    match:
      headers:
        cookie: { regex: "^(.*?;)?(user=test-user)(;.*)?$" }
  - weight: 5
  - weight: 50
    bake: 10m
  - weight: 100
  - name: cleanup
    finalize:
      deleteStable: true
analysis:
  interval: 30s
  bake: 5m
  failureLimit: 1
  onNoData: fail
  onCancel: rollback
  checks:
    - name: success-rate
      prometheus:
        url: http://prometheus.istio-system:9090
        template: success-rate
        min: 0.99
    - name: smoke
      http:
        url: https://bookinfo.example.com/productpage
        method: GET
        headers: { cookie: user=test-user }
        expectStatus: [200]
        expectBody: "Book Reviews"
        timeout: 5s
    - name: canary-pods
      kubernetes: { maxRestarts: 0 }
    - name: latency-vs-stable
      compare:
        prometheus: { url: http://prometheus.istio-system:9090, query: '<PromQL with $version>' }
        direction: increase
        tolerance: 0.25
        confidence: 0.98
`

const TEST_USER_COOKIE = '^(.*?;)?(user=test-user)(;.*)?$'
const PROMETHEUS_URL = 'http://prometheus.istio-system:9090'

const DEFAULT_ANALYSIS: Plan['analysis'] = {
  intervalMs: 30_000,
  bakeMs: 300_000,
  failureLimit: 1,
  onNoData: 'fail',
  onCancel: 'rollback',
  verifyWindowMs: 90_000,
  checks: []
}

describe('parsePlan', () => {
  it('reads the contract example into the full Plan', () => {
    const expected: Plan = {
      service: 'reviews',
      namespace: 'default',
      router: 'VirtualService',
      routing: { objects: [{ name: 'reviews', namespace: 'default' }] },
      stable: 'v1',
      canary: 'v2',
      versionLabel: 'version',
      deploy: { manifests: ['k8s/reviews-v2.yaml'], timeoutMs: 300_000 },
      stages: [
        { kind: 'match', name: 'test-user', headers: { cookie: { regex: TEST_USER_COOKIE } } },
        { kind: 'weight', name: '5%', weight: 5 },
        { kind: 'weight', name: '50%', weight: 50, bakeMs: 600_000 },
        { kind: 'weight', name: '100%', weight: 100 },
        { kind: 'finalize', name: 'cleanup', deleteStable: true }
      ],
      analysis: {
        ...DEFAULT_ANALYSIS,
        checks: [
          {
            kind: 'prometheus',
            name: 'success-rate',
            prometheus: { url: PROMETHEUS_URL },
            template: 'success-rate',
            min: 0.99
          },
          {
            kind: 'http',
            name: 'smoke',
            url: 'https://bookinfo.example.com/productpage',
            method: 'GET',
            headers: { cookie: 'user=test-user' },
            expectStatus: [200],
            expectBody: 'Book Reviews',
            timeoutMs: 5_000
          },
          { kind: 'kubernetes', name: 'canary-pods', maxRestarts: 0 },
          {
            kind: 'compare',
            name: 'latency-vs-stable',
            prometheus: { url: PROMETHEUS_URL },
            direction: 'increase',
            tolerance: 0.25,
            minSamples: 50,
            method: 'mann-whitney',
            query: '<PromQL with $version>',
            confidence: 0.98
          }
        ] as unknown as CheckBase[]
      }
    }
    expect(parsePlan(CONTRACT_EXAMPLE)).toStrictEqual(expected)
  })

  it('reads the Istio 0.2 tutorial release as a RouteRule plan', () => {
    const seed = [
      'service: reviews',
      'router: RouteRule',
      'stable: v1',
      'canary: v2',
      'stages:',
      '  - match:',
      '      headers:',
      `        cookie: { regex: "${TEST_USER_COOKIE}" }`,
      '  - weight: 50',
      '  - weight: 100',
      '  - finalize: { deleteStable: true }'
    ].join('\n')
    const expected: Plan = {
      service: 'reviews',
      namespace: 'default',
      router: 'RouteRule',
      routing: { objects: [{ name: 'reviews', namespace: 'default' }] },
      stable: 'v1',
      canary: 'v2',
      versionLabel: 'version',
      stages: [
        { kind: 'match', name: 'test-user', headers: { cookie: { regex: TEST_USER_COOKIE } } },
        { kind: 'weight', name: '50%', weight: 50 },
        { kind: 'weight', name: '100%', weight: 100 },
        { kind: 'finalize', name: 'finalize', deleteStable: true }
      ],
      analysis: DEFAULT_ANALYSIS
    }
    expect(parsePlan(seed)).toStrictEqual(expected)
  })

  it('fills every default into a minimal plan', () => {
    const plan = parsePlan('service: ratings\nstable: v1\ncanary: v2\nstages: [{ weight: 10 }]')
    expect(plan).toStrictEqual({
      service: 'ratings',
      namespace: 'default',
      router: 'VirtualService',
      routing: { objects: [{ name: 'ratings', namespace: 'default' }] },
      stable: 'v1',
      canary: 'v2',
      versionLabel: 'version',
      stages: [{ kind: 'weight', name: '10%', weight: 10 }],
      analysis: DEFAULT_ANALYSIS
    })
  })

  it('fills check defaults and derives the verify window from the interval', () => {
    const plan = parsePlan(`
service: ratings
stable: v1
canary: v2
stages: [{ weight: 10 }]
analysis:
  interval: 10s
  checks:
    - name: smoke
      http: { url: 'http://ratings:9080/health', method: post, headersFromEnv: { authorization: API_AUTH } }
    - name: pods
      kubernetes:
    - name: p99
      compare:
        prometheus: { url: 'https://prom.example.com', query: 'latency{version="$version"}', bearerTokenEnv: PROM_TOKEN }
`)
    expect(plan.analysis.verifyWindowMs).toBe(30_000)
    expect(plan.analysis.checks).toStrictEqual([
      {
        kind: 'http',
        name: 'smoke',
        url: 'http://ratings:9080/health',
        method: 'POST',
        headers: {},
        headersFromEnv: { authorization: 'API_AUTH' },
        expectStatus: [200],
        timeoutMs: 5_000
      },
      { kind: 'kubernetes', name: 'pods', maxRestarts: 0 },
      {
        kind: 'compare',
        name: 'p99',
        prometheus: { url: 'https://prom.example.com', bearerTokenEnv: 'PROM_TOKEN' },
        direction: 'increase',
        tolerance: 0.25,
        minSamples: 50,
        method: 'mann-whitney',
        query: 'latency{version="$version"}',
        confidence: 0.98
      }
    ])
  })

  it('names match stages test-user, match-2, match-3 and allows a match stage after a weight stage', () => {
    const plan = parsePlan(`
service: ratings
stable: v1
canary: v2
stages:
  - match: { headers: { x-user: { exact: alice } } }
  - weight: 10
  - match: { headers: { x-user: { prefix: bob } } }
  - name: beta
    match: { headers: { x-group: { exact: beta } } }
  - match: { headers: { x-user: { exact: carol } } }
`)
    expect(plan.stages.map(stage => stage.name)).toEqual(['test-user', '10%', 'match-2', 'beta', 'match-4'])
  })

  it('accepts a plan with only a finalize stage', () => {
    const plan = parsePlan('service: ratings\nstable: v1\ncanary: v2\nstages:\n  - finalize:\n')
    expect(plan.stages).toStrictEqual([{ kind: 'finalize', name: 'finalize', deleteStable: false }])
  })

  it('keeps the named route of a VirtualService and the Prometheus basic-auth variable names', () => {
    const plan = parsePlan(`
service: ratings
routing: { name: bookinfo, route: ratings-route }
stable: v1
canary: v2
stages: [{ weight: 10 }]
analysis:
  checks:
    - name: errors
      prometheus:
        url: http://prom:9090
        usernameEnv: PROM_USER
        passwordEnv: PROM_PASSWORD
        query: sum(rate(errors{service="$service", namespace="$namespace"}[$interval]))
        max: 5
`)
    expect(plan.routing).toStrictEqual({
      objects: [{ name: 'bookinfo', namespace: 'default', route: 'ratings-route' }]
    })
    expect(plan.analysis.checks[0]).toMatchObject({
      prometheus: { url: 'http://prom:9090', usernameEnv: 'PROM_USER', passwordEnv: 'PROM_PASSWORD' },
      max: 5
    })
  })
})
