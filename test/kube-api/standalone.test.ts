/** The double as a separate process: kubeconfig file, seed files, the /_test control plane, clean exit on SIGTERM. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as k8s from '@kubernetes/client-node'
import yaml from 'js-yaml'
import type { KubeApi, RecordedRequest } from '../../testkit/kube-api/index.js'
import { raw } from './helpers.js'

let dir: string
let child: ChildProcess
let ready: { url: string; kubeconfig: string; token: string }
let exit: Promise<number | null>

/** What raw() needs of a KubeApi, from the kubeconfig the process wrote. */
function handle(): KubeApi {
  const kc = yaml.load(readFileSync(ready.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[]
  }
  return {
    url: ready.url,
    token: ready.token,
    caData: kc.clusters[0].cluster['certificate-authority-data']
  } as KubeApi
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kube-api-standalone-'))
  writeFileSync(
    join(dir, 'seed.yaml'),
    `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
`
  )
  child = spawn(
    process.execPath,
    [
      'node_modules/tsx/dist/cli.mjs',
      'testkit/kube-api/standalone.ts',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--seed',
      join(dir, 'seed.yaml'),
      '--rollout-delay-ms',
      '10'
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  exit = new Promise(r => child.on('exit', code => r(code)))
  let stderr = ''
  child.stderr!.on('data', d => (stderr += String(d)))
  ready = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`standalone did not start: ${stderr}`)), 30_000)
    child.stdout!.on('data', d => {
      out += String(d)
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(JSON.parse(out.slice(0, nl)))
      }
    })
    child.on('exit', code => reject(new Error(`standalone exited ${code}: ${stderr}`)))
  })
})
afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

describe('standalone.ts', () => {
  it('prints the url and kubeconfig, serves the seed, and offers the control plane', async () => {
    expect(ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(ready.kubeconfig).toBe(join(dir, 'kubeconfig'))
    const kc = new k8s.KubeConfig()
    kc.loadFromFile(ready.kubeconfig)
    expect(kc.getCurrentContext()).toBe('test')
    const apps = kc.makeApiClient(k8s.AppsV1Api)
    const api = handle()

    for (let i = 0; i < 100; i++) {
      const d = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'web' })
      if (d.status?.availableReplicas === 1) break
      await new Promise(r => setTimeout(r, 20))
    }
    // a fault injected through the control plane
    const injected = await raw(api, 'POST', '/_test/faults', {
      body: { method: 'GET', pathRegex: 'deployments/web$', status: 503, retryAfterSeconds: 1 }
    })
    expect(injected.status).toBe(201)
    const faulted = await raw(api, 'GET', '/apis/apps/v1/namespaces/shop/deployments/web')
    expect(faulted.status).toBe(503)
    expect(faulted.headers['retry-after']).toBe('1')

    const health = await raw(api, 'POST', '/_test/deployment-health', {
      body: { namespace: 'shop', name: 'web', available: false }
    })
    expect(health.status).toBe(200)
    const dep = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'web' })
    expect(dep.status?.conditions?.find(c => c.type === 'Available')?.status).toBe('False')

    const log = (await raw(api, 'GET', '/_test/requests')).json() as unknown as RecordedRequest[]
    expect(log.some(r => r.status === 503 && r.verb === 'get' && r.name === 'web')).toBe(true)
    expect(log.every(r => !r.path.startsWith('/_test'))).toBe(true)
    expect((await raw(api, 'GET', '/_test/requests', { token: 'wrong' })).status).toBe(401)
  })

  it('exits cleanly on SIGTERM', async () => {
    child.kill('SIGTERM')
    expect(await exit).toBe(0)
  })
})
