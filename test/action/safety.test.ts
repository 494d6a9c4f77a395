/** Safety rules through the action's entry point: drift, conflicts, dry run, rollback, deploy, bad input. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import yaml from 'js-yaml'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, deployment, VS_PLAN } from '../../testkit/bookinfo.js'
import { runAction, startAction } from '../../testkit/run-action.js'
import { setupRun } from '../support/run-engine.js'

const NETWORKING = 'networking.istio.io/v1'
const PLAN = VS_PLAN

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
})
afterEach(() => api.close())

const virtualService = () => api.get(NETWORKING, 'VirtualService', 'default', 'reviews') as KubeObject
const reviewsRoute = () => (virtualService().spec as { http: { route: unknown[] }[] }).http.at(-1)!
const action = (inputs: Record<string, string>, env?: Record<string, string>) =>
  runAction({ inputs: { plan: PLAN, kubeconfig: api.kubeconfig(), report: 'none', ...inputs }, env })
/** An advance that only brings the release to where the test starts. */
const setup = () => setupRun(api, { plan: PLAN })

describe('drift', () => {
  it('refuses to advance when someone changed the routing, naming the object and fields; rollback proceeds', async () => {
    expect((await action({})).exitCode).toBe(0)
    expect((await action({})).outputs.stage).toBe('5%')
    const edited = virtualService()
    ;(edited.spec as { http: { route: { weight?: number }[] }[] }).http[2].route[0].weight = 80
    ;(edited.spec as { http: { route: { weight?: number }[] }[] }).http[2].route[1].weight = 20
    api.put(edited)
    api.clearRequests()

    const refused = await action({})
    expect(refused.exitCode).toBe(1)
    const error = refused.annotations.find(a => a.kind === 'error')?.message ?? ''
    expect(error).toContain('drift: VirtualService default/reviews')
    expect(error).toContain('spec.http[2].route[0].weight')
    expect(api.writes()).toEqual([])

    const rolledBack = await action({ command: 'rollback' })
    expect(rolledBack.exitCode).toBe(0)
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(rolledBack.annotations.some(a => a.kind === 'warning' && a.message.includes('drift'))).toBe(true)
    expect(reviewsRoute().route).toEqual([
      { destination: { host: 'reviews.default.svc.cluster.local', subset: 'v1', port: { number: 9080 } } }
    ])
    expect((virtualService().spec as { http: unknown[] }).http).toHaveLength(2)
  })
})

describe('rollback', () => {
  it('restores the pinned routing exactly, and refuses the same revision afterwards', async () => {
    const before = structuredClone(virtualService().spec)
    await setup()
    await setup()
    const result = await action({ command: 'rollback' })
    expect(result.outputs).toMatchObject({ status: 'rolled-back', weight: '0', stage: '' })
    expect(virtualService().spec).toEqual(before)
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')).toBeDefined()

    api.clearRequests()
    const again = await action({})
    expect(again.exitCode).toBe(1)
    expect(again.annotations.find(a => a.kind === 'error')?.message).toContain('revision v2 was rolled back')
    expect(api.writes()).toEqual([])

    const next = await action({ revision: 'v2-fixed' })
    expect(next.exitCode).toBe(0)
    expect(next.outputs).toMatchObject({ status: 'advanced', stage: 'test-user' })
  })
})

describe('conflicting writer', () => {
  it('fails with a clear message and overwrites nothing', async () => {
    await setup()
    // Hold the action's write long enough for another writer to change the object first.
    api.clearRequests()
    api.injectFault({ method: 'PUT', path: /virtualservices\/reviews$/, delayMs: 1500 })
    const running = startAction({ inputs: { plan: PLAN, kubeconfig: api.kubeconfig(), report: 'none' } })
    await api.waitFor(() => api.requests.some(r => r.method === 'PUT'), 15_000)
    const other = virtualService()
    other.metadata.labels = { ...(other.metadata.labels ?? {}), touched: 'by-someone-else' }
    const written = api.put(other)
    const result = await running.result
    expect(result.exitCode).toBe(1)
    expect(result.annotations.find(a => a.kind === 'error')?.message).toMatch(
      /conflict: VirtualService default\/reviews was changed by another writer/
    )
    expect(virtualService().metadata.resourceVersion).toBe(written.metadata.resourceVersion)
    expect((virtualService().metadata.labels as Record<string, string>).touched).toBe('by-someone-else')
  })
})

describe('dry run', () => {
  it('prints the diff, has the cluster validate it, and persists nothing', async () => {
    const before = structuredClone(virtualService())
    api.clearRequests()
    const result = await action({ 'dry-run': 'true' })
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'planned' })
    expect(result.stdout).toContain('+            subset: v2')
    expect(api.writes()).toEqual([])
    expect(api.requests.some(r => r.method === 'PUT' && r.dryRun)).toBe(true)
    expect(virtualService()).toEqual(before)
  })
})

describe('deploy manifests', () => {
  it('creates the canary, waits for it, then applies stage 1', async () => {
    api.remove('apps/v1', 'Deployment', 'default', 'reviews-v2')
    const workspace = path.join(process.env.TMPDIR ?? '/tmp', `ws-${process.pid}-${Date.now()}`)
    mkdirSync(path.join(workspace, 'k8s'), { recursive: true })
    writeFileSync(path.join(workspace, 'k8s', 'reviews-v2.yaml'), yaml.dump(deployment('v2')))
    const plan = `${PLAN}\ndeploy:\n  manifests: [k8s/reviews-v2.yaml]\n  timeout: 20s\n`
    writeFileSync(path.join(workspace, 'plan.yaml'), plan)
    const result = await runAction({
      inputs: { plan: 'plan.yaml', kubeconfig: api.kubeconfig(), report: 'none' },
      workspace
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage: 'test-user' })
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')).toBeDefined()
  })

  it('reverts to the pin and fails with the Deployment conditions when the canary never becomes Available', async () => {
    api.remove('apps/v1', 'Deployment', 'default', 'reviews-v2')
    const workspace = path.join(process.env.TMPDIR ?? '/tmp', `ws-${process.pid}-${Date.now()}-b`)
    mkdirSync(workspace, { recursive: true })
    writeFileSync(path.join(workspace, 'v2.yaml'), yaml.dump(deployment('v2')))
    api.setDeploymentHealth('default', 'reviews-v2', { available: false })
    const plan = `${PLAN}\ndeploy:\n  manifests: [v2.yaml]\n  timeout: 1s\n`
    const result = await runAction({
      inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' },
      workspace
    })
    expect(result.exitCode).toBe(1)
    expect(result.annotations.find(a => a.kind === 'error')?.message).toMatch(
      /did not become Available within 1s.*reviews-v2/
    )
    expect(reviewsRoute().route).toHaveLength(1)
  })
})

describe('bad input writes nothing', () => {
  const cases: [string, () => void, Record<string, string>, RegExp][] = [
    ['unknown command', () => {}, { command: 'launch' }, /input 'command': 'launch' is not a command/],
    ['bad plan field', () => {}, { plan: PLAN.replace('weight: 50', 'weight: 3') }, /stages\[2\]\.weight/],
    ['missing namespace', () => {}, { plan: `${PLAN}\nnamespace: shop\n` }, /namespace 'shop' not found/],
    [
      'missing VirtualService',
      () => api.remove(NETWORKING, 'VirtualService', 'default', 'reviews'),
      {},
      /VirtualService default\/reviews not found/
    ],
    [
      'missing subset',
      () => api.remove(NETWORKING, 'DestinationRule', 'default', 'reviews'),
      {},
      /no DestinationRule for host reviews.*subset 'v1'/
    ],
    [
      'missing canary Deployment',
      () => api.remove('apps/v1', 'Deployment', 'default', 'reviews-v2'),
      {},
      /canary \(v2\) is not ready: no Deployment/
    ],
    [
      'canary not Available',
      () => api.setDeploymentHealth('default', 'reviews-v2', { available: false }),
      {},
      /canary \(v2\) is not ready: Deployment default\/reviews-v2: Available=False/
    ],
    ['bad dry-run', () => {}, { 'dry-run': 'yes' }, /input 'dry-run'/],
    [
      'missing deploy manifest',
      () => {},
      { plan: `${PLAN}\ndeploy:\n  manifests: [k8s/nope.yaml]\n` },
      /deploy.manifests: file 'k8s\/nope.yaml' not found in the workspace/
    ],
    ['unknown context', () => {}, { context: 'prod' }, /context: 'prod' is not in the kubeconfig/]
  ]
  it.each(cases)('%s', async (_name, arrange, inputs, message) => {
    arrange()
    api.clearRequests()
    const result = await action(inputs)
    expect(result.exitCode).toBe(1)
    const errors = result.annotations.filter(a => a.kind === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].message).toMatch(message)
    expect(result.stdout).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/)
    expect(api.writes()).toEqual([])
  })
})

describe('Istio before 1.22 (no networking.istio.io/v1)', () => {
  it('uses v1beta1 for VirtualService and DestinationRule', async () => {
    api.injectFault({ path: /\/apis\/networking\.istio\.io\/v1\//, status: 404, times: 1000 })
    api.clearRequests()
    const result = await action({})
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage: 'test-user' })
    const writes = api.writes()
    expect(writes.length).toBeGreaterThan(0)
    expect(writes.every(w => w.path.startsWith('/apis/networking.istio.io/v1beta1/'))).toBe(true)
  })
})
