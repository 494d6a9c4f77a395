/**
 * Bad input, end to end through the action: plan fields, action inputs, kubeconfigs and cluster
 * preconditions. Each must fail with exactly one clear `::error::` line, no stack trace, and not one write
 * request to the Kubernetes API.
 */
import { expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import yaml from 'js-yaml'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, reviewsDestinationRule, VS_PLAN } from '../../testkit/bookinfo.js'
import { runAction } from '../../testkit/run-action.js'
import { errorLines, hasStackTrace, NETWORKING, writeRequests } from './helpers.js'
import { TRAFFIC_FEATURE_BAD_PLANS } from '../plan/bad-plan-cases.js'

const PLAN = VS_PLAN
const HEAD = 'service: reviews\nstable: v1\ncanary: v2\n'

/** The plan with its stages replaced. */
const withStages = (...stages: string[]) =>
  `${HEAD}stages:\n${stages.map(stage => `  - ${stage}\n`).join('')}analysis:\n  bake: 0s\n`
/** The plan with analysis fields replaced. */
const withAnalysis = (fields: string) => `${HEAD}stages:\n  - weight: 50\nanalysis:\n${fields}`
const withCheck = (check: string) =>
  withAnalysis(`  bake: 1m\n  checks:\n    - name: c\n      ${check.replace(/\n/g, '\n      ')}\n`)

/** Text matched literally inside a RegExp. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

type Kubeconfig = Record<string, unknown> & {
  clusters: { cluster: Record<string, unknown> }[]
  users: { user: Record<string, unknown> }[]
  contexts: { context: Record<string, unknown> }[]
}

interface Case {
  name: string
  inputs?: Record<string, string>
  /** Changes the cluster before the run. */
  arrange?: (api: KubeApi) => void
  /** Changes the kubeconfig before the run. */
  kubeconfig?: (config: Kubeconfig, api: KubeApi) => Promise<string | Kubeconfig> | string | Kubeconfig
  error: RegExp
}

const FORBIDDEN = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message:
    'virtualservices.networking.istio.io "reviews" is forbidden: User "ci" cannot get resource "virtualservices" in API group "networking.istio.io" in the namespace "default"',
  reason: 'Forbidden',
  details: { name: 'reviews', group: 'networking.istio.io', kind: 'virtualservices' },
  code: 403
}

const CASES: Case[] = [
  // ---- the plan: structure, types, ranges, unknown keys
  { name: 'plan YAML syntax error', inputs: { plan: `${HEAD}stages: [\n  weight: 5\n` }, error: /line \d+/ },
  {
    name: 'plan file not found',
    inputs: { plan: 'deploy/canary.yaml' },
    error: /plan.*deploy\/canary\.yaml.*not found|no such file|not found.*deploy\/canary\.yaml/i
  },
  {
    name: 'service missing',
    inputs: { plan: 'stable: v1\ncanary: v2\nstages: [{weight: 5}]\n' },
    error: /service.*required/
  },
  {
    name: 'service of the wrong type',
    inputs: { plan: PLAN.replace('service: reviews', 'service: [reviews]') },
    error: /service.*must be a string/
  },
  {
    name: 'namespace not a DNS label',
    inputs: { plan: `${PLAN}namespace: Shop_Prod\n` },
    error: /namespace/
  },
  {
    name: 'unknown router, with a suggestion',
    inputs: { plan: `${PLAN}router: VirtualServce\n` },
    error: /router.*did you mean 'VirtualService'/
  },
  {
    name: 'unknown top-level key, with a suggestion',
    inputs: { plan: `${PLAN}analisys: {}\n` },
    error: /analisys.*did you mean 'analysis'/
  },
  {
    name: 'unknown stage key, with a suggestion',
    inputs: { plan: withStages('wieght: 5') },
    error: /stages\[0\].*wieght.*did you mean 'weight'/
  },
  {
    name: 'stable equals canary',
    inputs: { plan: PLAN.replace('canary: v2', 'canary: v1') },
    error: /canary/
  },
  { name: 'no stages', inputs: { plan: `${HEAD}stages: []\n` }, error: /stages/ },
  // ---- weights and stage order
  { name: 'weight 0', inputs: { plan: withStages('weight: 0') }, error: /stages\[0\]\.weight/ },
  { name: 'weight above 100', inputs: { plan: withStages('weight: 101') }, error: /stages\[0\]\.weight/ },
  {
    name: 'weight not an integer',
    inputs: { plan: withStages('weight: 5.5') },
    error: /stages\[0\]\.weight/
  },
  { name: 'weight a string', inputs: { plan: withStages('weight: ten') }, error: /stages\[0\]\.weight/ },
  {
    name: 'weights not increasing',
    inputs: { plan: withStages('weight: 50', 'weight: 5') },
    error: /stages\[1\]\.weight/
  },
  {
    name: 'duplicate stage names',
    inputs: { plan: withStages('{ name: s, weight: 5 }', '{ name: s, weight: 50 }') },
    error: /stages\[1\]\.name.*'s'/
  },
  {
    name: 'finalize not last',
    inputs: { plan: withStages('weight: 50', 'finalize: {}', 'weight: 100') },
    error: /finalize/
  },
  { name: 'a stage that is nothing', inputs: { plan: withStages('name: empty') }, error: /stages\[0\]/ },
  // ---- matches and regexes
  {
    name: 'RE2-invalid regex (lookahead)',
    inputs: { plan: withStages(`match: { headers: { cookie: { regex: "^(?=user).*" } } }`) },
    error: /stages\[0\]\.match\.headers\.cookie\.regex/
  },
  {
    name: 'RE2-invalid regex (backreference)',
    inputs: { plan: withStages(`match: { headers: { cookie: { regex: "(a)\\\\1" } } }`) },
    error: /regex/
  },
  {
    name: 'upper-case header name',
    inputs: { plan: withStages(`match: { headers: { Cookie: { exact: a } } }`) },
    error: /lowercase|lower-case|lower case/
  },
  {
    name: 'header with two match kinds',
    inputs: { plan: withStages(`match: { headers: { cookie: { exact: a, prefix: b } } }`) },
    error: /cookie/
  },
  // ---- mirror stages and sessionAffinity: the parser's cases, each naming the field and the fix
  ...TRAFFIC_FEATURE_BAD_PLANS.map((bad): Case => ({
    name: bad.what,
    inputs: { plan: bad.yaml },
    error: new RegExp(`^${literally(`plan: ${bad.field}: ${bad.message}`)}`)
  })),
  // ---- durations and analysis
  {
    name: 'duration with words',
    inputs: { plan: withAnalysis('  bake: 5 minutes\n') },
    error: /analysis\.bake/
  },
  {
    name: 'negative interval',
    inputs: { plan: withAnalysis('  interval: -30s\n') },
    error: /analysis\.interval/
  },
  {
    name: 'failureLimit 0',
    inputs: { plan: withAnalysis('  failureLimit: 0\n') },
    error: /analysis\.failureLimit/
  },
  {
    name: 'onNoData unknown value',
    inputs: { plan: withAnalysis('  onNoData: skip\n') },
    error: /analysis\.onNoData/
  },
  {
    name: 'unknown query template, with a suggestion',
    inputs: { plan: withCheck('prometheus: { url: "http://p:9090", template: succes-rate, min: 0.9 }') },
    error: /template.*did you mean 'success-rate'/
  },
  {
    name: 'http check without url',
    inputs: { plan: withCheck('http: { method: GET }') },
    error: /http\.url.*required/
  },
  {
    name: 'http expectBody not RE2',
    inputs: { plan: withCheck('http: { url: "http://x", expectBody: "(?<=a)b" }') },
    error: /expectBody/
  },
  // ---- sequential compare checks
  {
    name: 'sequential alpha outside (0, 0.5]',
    inputs: {
      plan: withCheck(
        'compare: { method: sequential, prometheus: { url: "http://p:9090", template: success-rate }, alpha: 0.9 }'
      )
    },
    error: /compare\.alpha: must be greater than 0 and at most 0\.5/
  },
  {
    name: 'compare minSamples below 2',
    inputs: {
      plan: withCheck(
        'compare: { method: sequential, prometheus: { url: "http://p:9090", template: success-rate }, minSamples: 1 }'
      )
    },
    error: /compare\.minSamples: must be an integer >= 2/
  },
  {
    name: 'sequential check on a query that is not per version',
    inputs: {
      plan: withCheck(
        'compare: { method: sequential, prometheus: { url: "http://p:9090", query: "avg_over_time(latency[$window])" } }'
      )
    },
    error: /compare\.prometheus\.query: must contain \$version: a sequential check compares the versions/
  },
  {
    name: 'sequential slowerThan not a bucket boundary',
    inputs: {
      plan: withCheck(
        'compare: { method: sequential, prometheus: { url: "http://p:9090", template: slow-requests, slowerThan: 200ms } }'
      )
    },
    error: /slowerThan: must be an upper bound of a bucket/
  },
  {
    name: 'confidence with method sequential',
    inputs: {
      plan: withCheck(
        'compare: { method: sequential, prometheus: { url: "http://p:9090", template: success-rate }, confidence: 0.99 }'
      )
    },
    error: /compare\.confidence: is for method: mann-whitney/
  },
  // ---- action inputs
  { name: 'unknown command', inputs: { command: 'launch' }, error: /input 'command': 'launch'/ },
  { name: 'dry-run not a boolean', inputs: { 'dry-run': 'yes' }, error: /input 'dry-run': 'yes'/ },
  { name: 'pr-number not a number', inputs: { 'pr-number': 'abc' }, error: /input 'pr-number': 'abc'/ },
  { name: 'pr-number zero', inputs: { 'pr-number': '0' }, error: /input 'pr-number': '0'/ },
  { name: 'unknown report kind', inputs: { report: 'comment,sumary' }, error: /input 'report': 'sumary'/ },
  { name: 'revision with spaces', inputs: { revision: 'v2 final' }, error: /input 'revision'/ },
  { name: 'revision too long', inputs: { revision: 'v'.repeat(129) }, error: /input 'revision'.*128/ },
  { name: 'plan input empty', inputs: { plan: '' }, error: /plan/ },
  // ---- kubeconfigs
  { name: 'garbage kubeconfig', kubeconfig: () => '{{{ not: yaml', error: /kubeconfig: could not be parsed/ },
  {
    name: 'context not in the kubeconfig',
    inputs: { context: 'prod' },
    error: /context: 'prod' is not in the kubeconfig \(contexts: test\)/
  },
  {
    name: 'kubeconfig without a server',
    kubeconfig: config => {
      delete config.clusters[0].cluster.server
      return config
    },
    error: /kubeconfig: no current cluster with a server|server/
  },
  {
    name: 'unreachable server (closed port)',
    kubeconfig: async config => {
      config.clusters[0].cluster.server = `https://127.0.0.1:${await closedPort()}`
      return config
    },
    error: /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/
  },
  {
    name: 'wrong CA',
    kubeconfig: config => {
      config.clusters[0].cluster['certificate-authority-data'] = Buffer.from(
        tls.rootCertificates[0]
      ).toString('base64')
      return config
    },
    error:
      /presented a certificate the kubeconfig does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); check certificate-authority-data/
  },
  {
    name: 'wrong or expired token (401)',
    kubeconfig: config => {
      config.users[0].user.token = 'expired-token-0000'
      return config
    },
    error:
      /^get VirtualService default\/reviews: Unauthorized \(Unauthorized, HTTP 401\); the API server rejected the kubeconfig's credentials: the token or client certificate is wrong or expired/
  },
  // ---- cluster preconditions
  {
    name: 'namespace missing',
    inputs: { plan: `${PLAN}namespace: shop\n` },
    error: /namespace 'shop' not found/
  },
  {
    name: 'VirtualService missing',
    arrange: api => api.remove(NETWORKING, 'VirtualService', 'default', 'reviews'),
    error: /VirtualService default\/reviews not found/
  },
  {
    name: 'DestinationRule missing',
    arrange: api => api.remove(NETWORKING, 'DestinationRule', 'default', 'reviews'),
    error: /no DestinationRule for host reviews/
  },
  {
    name: 'canary subset missing',
    arrange: api => api.put(reviewsDestinationRule('default', ['v1'])),
    error: /subset 'v2'/
  },
  {
    name: 'named route missing',
    inputs: { plan: `${PLAN}routing:\n  route: reviews-v9\n` },
    error: /reviews-v9/
  },
  {
    name: 'canary Deployment missing',
    arrange: api => api.remove('apps/v1', 'Deployment', 'default', 'reviews-v2'),
    error: /canary \(v2\) is not ready: no Deployment/
  },
  {
    name: 'canary not Available',
    arrange: api => api.setDeploymentHealth('default', 'reviews-v2', { available: false }),
    error: /canary \(v2\) is not ready: Deployment default\/reviews-v2: Available=False/
  },
  {
    name: 'RBAC: cannot get the VirtualService (403)',
    arrange: api =>
      api.injectFault({
        method: 'GET',
        path: '/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews',
        status: 403,
        body: FORBIDDEN
      }),
    error:
      /User "ci" cannot get resource "virtualservices" in API group "networking.istio.io" in the namespace "default" \(Forbidden, HTTP 403\); grant that permission/
  }
]

it('covers at least 40 cases', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(40)
})

// Each case has a cluster and a workspace of its own, so the cases run side by side.
it.concurrent.each(CASES.map(c => [c.name, c] as const))('%s', async (_name, c) => {
  const api = await startKubeApi()
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'bad-input-'))
  try {
    api.seed(bookinfoObjects())
    writeFileSync(path.join(workspace, 'README.md'), 'workspace\n')
    c.arrange?.(api)
    const base = yaml.load(api.kubeconfig()) as Kubeconfig
    const kubeconfig = c.kubeconfig ? await c.kubeconfig(base, api) : base
    api.clearRequests()
    const result = await runAction({
      inputs: {
        plan: PLAN,
        report: 'none',
        kubeconfig: typeof kubeconfig === 'string' ? kubeconfig : yaml.dump(kubeconfig),
        ...c.inputs
      },
      env: { ISTIO_CANARY_API_TIMEOUT_MS: '5000' },
      workspace
    })
    expect(result.exitCode).toBe(1)
    const errors = errorLines(result)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(c.error)
    expect(hasStackTrace(result)).toBe(false)
    expect(writeRequests(api)).toEqual([])
  } finally {
    await api.close()
    rmSync(workspace, { recursive: true, force: true })
  }
})
