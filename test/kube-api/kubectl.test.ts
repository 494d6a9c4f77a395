/**
 * The Kubernetes API double driven by a real kubectl: the Debian kubernetes-client 1.20 binary, unpacked into
 * .tools/kubectl (see scripts/test-tools.sh) or named by $KUBECTL. Users run kubectl against the same cluster the action changes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'

const KUBECTL = process.env.KUBECTL || resolve('.tools/kubectl/usr/bin/kubectl')

function findKubectl(): string {
  if (!existsSync(KUBECTL)) {
    throw new Error(
      `kubectl not found at ${KUBECTL}: run \`bash scripts/test-tools.sh\` (it unpacks Debian's kubernetes-client ` +
        'there), or set $KUBECTL to a kubectl binary'
    )
  }
  return KUBECTL
}

let api: KubeApi
let dir: string
let kubectlPath: string

interface Run {
  code: number
  stdout: string
  stderr: string
}

function kubectl(...args: string[]): Promise<Run> {
  return new Promise(resolvePromise => {
    execFile(
      kubectlPath,
      ['--kubeconfig', join(dir, 'kubeconfig'), '--request-timeout=20s', ...args],
      // HOME keeps kubectl's discovery cache inside the test's directory
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0
        resolvePromise({ code, stdout, stderr })
      }
    )
  })
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args)
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

const NETWORKING = 'networking.istio.io/v1'

const VS_YAML = (subset: string) => `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: ${subset}
`

const ROUTE_RULE_YAML = (weights: [number, number]) => `apiVersion: config.istio.io/v1alpha2
kind: RouteRule
metadata:
  name: reviews-default
  namespace: default
spec:
  destination:
    name: reviews
  precedence: 1
  route:
  - labels:
      version: v1
    weight: ${weights[0]}
  - labels:
      version: v2
    weight: ${weights[1]}
`

beforeAll(async () => {
  kubectlPath = findKubectl()
  dir = mkdtempSync(join(tmpdir(), 'kube-api-kubectl-'))
  api = await startKubeApi({ rolloutDelayMs: 20 })
  api.writeKubeconfig(join(dir, 'kubeconfig'))
})
afterAll(async () => {
  await api?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('kubectl 1.20 against the double', () => {
  it('is the Debian kubectl', async () => {
    expect(await ok('version', '--client', '--short')).toContain('v1.20')
  })

  it('get virtualservices -o json', async () => {
    api.seed([
      {
        apiVersion: NETWORKING,
        kind: 'VirtualService',
        metadata: { name: 'ratings', namespace: 'default' },
        spec: { hosts: ['ratings'], http: [{ route: [{ destination: { host: 'ratings', subset: 'v1' } }] }] }
      }
    ])
    const out = JSON.parse(await ok('get', 'virtualservices', '-o', 'json')) as { items: KubeObject[] }
    expect(out.items.map(i => [i.apiVersion, i.kind, i.metadata.name])).toEqual([
      [NETWORKING, 'VirtualService', 'ratings']
    ])
    // the table kubectl prints by default, with the CRD's printer columns, and a short name
    const table = await ok('get', 'vs')
    expect(table).toMatch(/NAME\s+GATEWAYS\s+HOSTS\s+AGE/)
    expect(table).toContain('ratings')
  })

  it('apply -f creates a VirtualService and a RouteRule, and a second apply changes them', async () => {
    writeFileSync(join(dir, 'routing.yaml'), `${VS_YAML('v1')}---\n${ROUTE_RULE_YAML([100, 0])}`)
    const created = await ok('apply', '-f', join(dir, 'routing.yaml'))
    expect(created).toContain('virtualservice.networking.istio.io/reviews created')
    expect(created).toContain('routerule.config.istio.io/reviews-default created')
    const vs = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')!
    expect(
      (vs.spec as { http: { route: { destination: { subset: string } }[] }[] }).http[0].route[0].destination
        .subset
    ).toBe('v1')
    expect(
      (vs.metadata.annotations as Record<string, string>)['kubectl.kubernetes.io/last-applied-configuration']
    ).toContain('"subset":"v1"')
    const rr = api.get('config.istio.io/v1alpha2', 'RouteRule', 'default', 'reviews-default')!
    expect((rr.spec as { route: { weight: number }[] }).route.map(r => r.weight)).toEqual([100, 0])

    api.clearRequests()
    writeFileSync(join(dir, 'routing.yaml'), `${VS_YAML('v2')}---\n${ROUTE_RULE_YAML([50, 50])}`)
    const configured = await ok('apply', '-f', join(dir, 'routing.yaml'))
    expect(configured).toContain('virtualservice.networking.istio.io/reviews configured')
    expect(configured).toContain('routerule.config.istio.io/reviews-default configured')
    const vs2 = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')!
    expect(
      (vs2.spec as { http: { route: { destination: { subset: string } }[] }[] }).http[0].route[0].destination
        .subset
    ).toBe('v2')
    expect(vs2.metadata.generation).toBe(2)
    const rr2 = api.get('config.istio.io/v1alpha2', 'RouteRule', 'default', 'reviews-default')!
    expect((rr2.spec as { route: { weight: number }[] }).route.map(r => r.weight)).toEqual([50, 50])
    // custom resources get a JSON merge patch from kubectl apply
    const patches = api.writes().filter(r => r.verb === 'patch')
    expect(patches.map(p => p.contentType)).toEqual([
      'application/merge-patch+json',
      'application/merge-patch+json'
    ])
    expect(patches.every(p => p.query.fieldManager === 'kubectl-client-side-apply')).toBe(true)

    expect(await ok('apply', '-f', join(dir, 'routing.yaml'))).toContain(
      'virtualservice.networking.istio.io/reviews unchanged'
    )
  })

  it('apply is refused with the admission webhook message when the routes are invalid', async () => {
    writeFileSync(
      join(dir, 'bad-rule.yaml'),
      ROUTE_RULE_YAML([50, 40]).replace('reviews-default', 'reviews-bad')
    )
    const r = await kubectl('apply', '-f', join(dir, 'bad-rule.yaml'))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('admission webhook "pilot.validation.istio.io" denied the request')
    expect(r.stderr).toContain('route weights total 90 (must total 100)')
    expect(api.get('config.istio.io/v1alpha2', 'RouteRule', 'default', 'reviews-bad')).toBeUndefined()
  })

  it('patch virtualservice reviews --type merge', async () => {
    const out = await ok(
      'patch',
      'virtualservice',
      'reviews',
      '--type',
      'merge',
      '-p',
      '{"spec":{"hosts":["reviews","reviews.default.svc.cluster.local"]}}'
    )
    expect(out).toContain('virtualservice.networking.istio.io/reviews patched')
    expect(api.get(NETWORKING, 'VirtualService', 'default', 'reviews')?.spec).toMatchObject({
      hosts: ['reviews', 'reviews.default.svc.cluster.local']
    })
    // without --type kubectl sends a strategic merge patch, which the apiserver refuses for custom resources
    const smp = await kubectl('patch', 'vs', 'reviews', '-p', '{"spec":{"hosts":["x"]}}')
    expect(smp.code).not.toBe(0)
    expect(smp.stderr).toContain('UnsupportedMediaType')
  })

  it('delete routerule', async () => {
    const out = await ok('delete', 'routerule', 'reviews-default')
    expect(out).toContain('routerule.config.istio.io "reviews-default" deleted')
    expect(api.get('config.istio.io/v1alpha2', 'RouteRule', 'default', 'reviews-default')).toBeUndefined()
    const again = await kubectl('delete', 'routerule', 'reviews-default')
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('routerules.config.istio.io "reviews-default" not found')
  })

  it('apply of a Deployment (strategic merge) and rollout status', async () => {
    const dep = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v2
  labels: {app: reviews, version: v2}
spec:
  replicas: 2
  selector:
    matchLabels: {app: reviews, version: v2}
  template:
    metadata:
      labels: {app: reviews, version: v2}
    spec:
      containers:
      - name: reviews
        image: ${image}
        ports: [{containerPort: 9080}]
`
    writeFileSync(join(dir, 'dep.yaml'), dep('docker.io/istio/examples-bookinfo-reviews-v2:1.20.2'))
    await ok('apply', '-f', join(dir, 'dep.yaml'))
    expect(await ok('rollout', 'status', 'deployment/reviews-v2', '--timeout=30s')).toContain(
      'successfully rolled out'
    )
    writeFileSync(join(dir, 'dep.yaml'), dep('docker.io/istio/examples-bookinfo-reviews-v2:1.20.3'))
    await ok('apply', '-f', join(dir, 'dep.yaml'))
    expect(api.requests.filter(r => r.verb === 'patch').at(-1)?.contentType).toBe(
      'application/strategic-merge-patch+json'
    )
    expect(await ok('rollout', 'status', 'deployment/reviews-v2', '--timeout=30s')).toContain(
      'successfully rolled out'
    )
    const pods = JSON.parse(await ok('get', 'pods', '-l', 'app=reviews,version=v2', '-o', 'json')) as {
      items: KubeObject[]
    }
    expect(pods.items).toHaveLength(2)
    for (const p of pods.items) {
      expect((p.spec as { containers: { image: string }[] }).containers[0].image).toContain(':1.20.3')
    }
    await ok('delete', 'deployment', 'reviews-v2')
    expect(api.list('v1', 'Pod', 'default')).toHaveLength(0)
  })
})
