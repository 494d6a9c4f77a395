/**
 * `npm run demo` end to end, both routers at once: v2 goes through its whole ladder to `completed`, the faulty v3
 * is rolled back at its first stage, and the demo leaves its files behind.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PROJECT_ROOT } from '../../testkit/run-action.js'

interface DemoRun {
  code: number | null
  stdout: string
  stderr: string
  output: string
}

const outputs: string[] = []

function runDemo(args: string[]): Promise<DemoRun> {
  const output = mkdtempSync(path.join(os.tmpdir(), 'canary-demo-'))
  outputs.push(output)
  return new Promise((resolve, reject) => {
    // What `npm run demo` runs, the bundle, unless ACTION_ENTRY=src asks for the source (or there is no bundle).
    const bundled = existsSync(path.join(PROJECT_ROOT, 'dist', 'index.js'))
    const entry =
      process.env.ACTION_ENTRY === 'src' || (!bundled && process.env.ACTION_ENTRY !== 'dist') ? 'src' : 'dist'
    const argv = ['--import', 'tsx', 'demo/run-demo.ts', '--output', output, '--entry', entry, ...args]
    const child = spawn(process.execPath, argv, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGINT'), 100_000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, output })
    })
  })
}

function report(run: DemoRun, pattern: RegExp): Record<string, unknown> {
  const file = readdirSync(path.join(run.output, 'reports')).find(name => pattern.test(name))
  if (!file) throw new Error(`no report matching ${pattern} in ${run.output}:\n${run.stdout}`)
  return JSON.parse(readFileSync(path.join(run.output, 'reports', file), 'utf8'))
}

afterAll(() => {
  for (const output of outputs) rmSync(output, { recursive: true, force: true })
})

describe('npm run demo', () => {
  it('releases v2 to completion and rolls back the faulty v3, on a VirtualService and on RouteRules', async () => {
    const [vs, rr] = await Promise.all([runDemo([]), runDemo(['--router', 'RouteRule'])])

    for (const run of [vs, rr]) {
      if (run.code !== 0) throw new Error(`the demo exited ${run.code}:\n${run.stdout}\n${run.stderr}`)
      expect(run.stderr).toBe('')
      expect(run.stdout).toMatch(/^v2 \d\/\d finalize +completed /m)
      expect(run.stdout).toMatch(/^v3 1\/\d \S+ +rolled-back +users v2 \d/m)
      expect(run.stdout).toMatch(/after the rollback: users v2 100% · test-user v2 100%/)
      for (const file of ['pr-comment.md', 'job-summary.md', 'routing-final.yaml', 'plans/v2.yaml'])
        expect(existsSync(path.join(run.output, file))).toBe(true)
      expect(readFileSync(path.join(run.output, 'pr-comment.md'), 'utf8')).toMatch(/rolled-back/)
      expect(report(run, /-v2-finalize\.json$/)).toMatchObject({
        status: 'completed',
        done: true,
        canary: 'v2'
      })
      expect(report(run, /-v3-/)).toMatchObject({
        status: 'rolled-back',
        canary: 'v3',
        weight: { after: 0 },
        rollback: { check: 'success-rate' }
      })
    }

    // The VirtualService ladder: test-user, 5, 20, 50, 100, finalize; then reviews-route back on v2 alone.
    expect(readdirSync(path.join(vs.output, 'reports'))).toHaveLength(7)
    expect(vs.stdout).toMatch(/^v2 2\/6 5% +advanced +users v1 9\d\.\d% \/ v2 \d\.\d%/m)
    const finalVs = readFileSync(path.join(vs.output, 'routing-final.yaml'), 'utf8')
    expect(finalVs).toMatch(/name: reviews-route\n/)
    expect(finalVs).not.toMatch(/subset: v3/)

    // The Istio 0.2 tutorial: reviews-default and reviews-test-user, 50/50, 100% v2, then the match rule and
    // reviews-v1 deleted; every RouteRule printed as YAML.
    expect(readdirSync(path.join(rr.output, 'reports'))).toHaveLength(5)
    expect(rr.stdout).toMatch(/metadata: \{ name: reviews-test-user \}/)
    expect(rr.stdout).toMatch(/deleted: RouteRule reviews-test-user, Deployment reviews-v1/)
    const finalRr = readFileSync(path.join(rr.output, 'routing-final.yaml'), 'utf8')
    expect(finalRr).toMatch(/name: reviews-default/)
    expect(finalRr).not.toMatch(/reviews-test-user/)
  }, 110_000)
})
