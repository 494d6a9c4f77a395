/** Runs the CLI as a user would (a separate process) against the Kubernetes API test double. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunReport } from '../../src/report/types.js'
import { bookinfoObjects } from '../../testkit/bookinfo.js'
import { type KubeApi, type KubeObject, startKubeApi } from '../../testkit/kube-api/index.js'
import { sourceCommand } from '../../testkit/run-action.js'

const PLAN = `
service: reviews
stable: v1
canary: v2
stages:
  - weight: 50
  - weight: 100
analysis:
  bake: 0s
`

/** Bookinfo reviews v1 and v2 with a DestinationRule, and a VirtualService with one route to v1. */
const SEED: KubeObject[] = [
  ...bookinfoObjects().filter(object => object.kind !== 'VirtualService'),
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'default' },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }
  }
]

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

describe('istio-canary against the Kubernetes API double', () => {
  let api: KubeApi
  let directory: string
  let kubeconfigFile: string

  function cli(...args: string[]): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', HOME: directory }
    delete env.KUBECONFIG
    delete env.ISTIO_CANARY_PLAN
    // jest's own flag would leak into the child's Node.
    delete env.NODE_OPTIONS
    const { command, args: entry } = sourceCommand('cli')
    return new Promise(resolve => {
      execFile(
        command,
        [...entry, ...args],
        { cwd: process.cwd(), env, timeout: 45_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
          resolve({ code, stdout, stderr })
        }
      )
    })
  }

  function httpRoutes(): unknown {
    const virtualService = api.get('networking.istio.io/v1', 'VirtualService', 'default', 'reviews')
    return (virtualService?.spec as { http: unknown }).http
  }

  beforeAll(async () => {
    api = await startKubeApi()
    api.seed(SEED)
    directory = mkdtempSync(join(tmpdir(), 'istio-canary-cli-'))
    kubeconfigFile = join(directory, 'kubeconfig.yaml')
    api.writeKubeconfig(kubeconfigFile)
    await api.waitFor(() => {
      const status = api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')?.status as
        { availableReplicas?: number } | undefined
      return (status?.availableReplicas ?? 0) >= 1
    })
  })

  afterAll(async () => {
    await api?.close()
    if (directory) rmSync(directory, { recursive: true, force: true })
  })

  it('status --json prints only the report, and it says idle', async () => {
    const result = await cli('status', '--plan', PLAN, '--kubeconfig', kubeconfigFile, '--json')
    expect(result.stderr).not.toContain('error:')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as RunReport
    expect(report.command).toBe('status')
    expect(report.status).toBe('idle')
    expect(report.ladder.map(entry => entry.name)).toEqual(['50%', '100%'])
    expect(api.writes()).toEqual([])
  })

  it('advance applies 50/50 to the VirtualService and exits 0', async () => {
    const result = await cli('advance', '--plan', PLAN, '--kubeconfig', kubeconfigFile)
    expect(result.stderr).not.toContain('error:')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^advanced: /m)
    expect(result.stdout).toContain('» Pin routing to v1')
    expect(result.stdout).toContain('Changes')
    expect(httpRoutes()).toEqual([
      {
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
          { destination: { host: 'reviews', subset: 'v2' }, weight: 50 }
        ]
      }
    ])
  })

  it('status prints the stage and the ladder for humans', async () => {
    const result = await cli('status', '--plan', PLAN, '--kubeconfig', kubeconfigFile)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('stage 1/2 50%')
    expect(result.stdout).toMatch(/^ {2}1 {2}50% +\S.*passed$/m)
    expect(result.stdout).toMatch(/^ {2}2 {2}100% +\S.*pending$/m)
    expect(result.stdout).not.toContain('\u001b[')
  })

  it('rollback restores the route to v1 only and exits 0', async () => {
    const result = await cli('rollback', '--plan', PLAN, '--kubeconfig', kubeconfigFile)
    expect(result.stderr).not.toContain('error:')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^rolled-back: /m)
    expect(httpRoutes()).toEqual([{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }])
  })

  it('exits 1 with one clear line for a missing kubeconfig file, writing nothing', async () => {
    const writesBefore = api.writes().length
    const result = await cli('advance', '--plan', PLAN, '--kubeconfig', join(directory, 'missing.yaml'))
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^error: kubeconfig: file '.*missing\.yaml' not found; pass an existing file to --kubeconfig$/
      )
    ])
    expect(api.writes().length).toBe(writesBefore)
  })

  it('exits 2 for an unknown option', async () => {
    const result = await cli('advance', '--plan', PLAN, '--fast')
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      "error: unknown option '--fast'; run 'istio-canary advance --help' for the options\n"
    )
  })
})
