/**
 * `npm run demo` end to end, the three routers at once: v2 goes through its whole ladder to `completed`, the
 * faulty v3 is rolled back at its first stage, and the demo leaves its files behind. What each router shows: the
 * mesh and the ingress VirtualService moving together, the mirror's copies, the sticky cookie keeping users on
 * v2, the controller accepting each HTTPRoute, the Istio 0.2 RouteRules.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { MIRROR_PERCENT, ROUTERS, type RouterKind } from '../../demo/plans.js'
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
    const timer = setTimeout(() => child.kill('SIGINT'), 170_000)
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

/** The lines a run printed for a stage: its own line and the indented ones under it. */
function block(run: DemoRun, stageLine: RegExp): string {
  const lines = run.stdout.split('\n')
  const first = lines.findIndex(line => stageLine.test(line))
  if (first === -1) throw new Error(`no line matching ${stageLine}:\n${run.stdout}`)
  const end = lines.findIndex((line, index) => index > first && !line.startsWith(' '))
  return lines.slice(first, end === -1 ? undefined : end).join('\n')
}

const ROUTER_ARGS: Record<RouterKind, string[]> = {
  VirtualService: [],
  RouteRule: ['--router', 'RouteRule'],
  HTTPRoute: ['--router', 'HTTPRoute']
}
const runs = {} as Record<RouterKind, DemoRun>

// The three demos run side by side: each waits mostly on its stages' bake time.
beforeAll(async () => {
  const finished = await Promise.all(ROUTERS.map(router => runDemo(ROUTER_ARGS[router])))
  ROUTERS.forEach((router, index) => (runs[router] = finished[index]))
}, 180_000)

afterAll(() => {
  for (const output of outputs) rmSync(output, { recursive: true, force: true })
})

describe('npm run demo', () => {
  it.each(ROUTERS)('releases v2 to completion and rolls back the faulty v3 (router %s)', router => {
    const run = runs[router]
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
    // Every v2 stage one report, and v3's one.
    const stages = (
      parseYaml(readFileSync(path.join(run.output, 'plans/v2.yaml'), 'utf8')) as { stages: unknown[] }
    ).stages
    expect(readdirSync(path.join(run.output, 'reports'))).toHaveLength(stages.length + 1)
  })

  it('VirtualService: the mesh and the ingress routing move together; the mirror copies, the cookie keeps users on v2', () => {
    const run = runs.VirtualService
    const shadow = block(run, /^v2 2\/7 shadow +advanced/)
    expect(shadow).toMatch(/^v2 2\/7 shadow +advanced +users v1 100% · test-user v2 100%/)
    expect(shadow).toMatch(/^ {5}ingress: users v1 100% · test-user v2 100%$/m)
    const copied =
      /mirror: of (\d+) requests on mirrored routes, (\d+\.\d)% copied to v2 \(\d+\), which answered no 5xx/.exec(
        shadow
      )
    expect(copied).not.toBeNull()
    expect(Number(copied![1])).toBeGreaterThan(200)
    expect(Math.abs(Number(copied![2]) - MIRROR_PERCENT)).toBeLessThan(12)

    const fivePercent = block(run, /^v2 3\/7 5% +advanced/)
    expect(fivePercent).toMatch(/^ {5}ingress: users v1 \d+\.\d% \/ v2 \d+\.\d% · test-user v2 100%$/m)
    expect(fivePercent).toMatch(
      /sticky: \d+ responses set istio-canary=v2 · \d+ users? sent istio-canary=v2: served v2 100%; users without a sticky cookie: v1 9\d\.\d% \/ v2 \d\.\d%/
    )
    expect(block(run, /^v2 7\/7 finalize/)).toMatch(/^ {5}ingress: users v2 100% · test-user v2 100%$/m)
    expect(run.stdout).toMatch(
      /after the rollback: users v2 100% · test-user v2 100%\n {5}ingress: users v2 100% · test-user v2 100%/
    )

    const final = readFileSync(path.join(run.output, 'routing-final.yaml'), 'utf8')
    expect(final).toMatch(/name: reviews-route\n/)
    expect(final).toMatch(/name: reviews-ingress\n/)
    expect(final).not.toMatch(/subset: v3|-sticky|-test-user|mirror/)
  })

  it('HTTPRoute: each stage accepted by the controller, rules chosen by Gateway API precedence, mirror and sticky cookie', () => {
    const run = runs.HTTPRoute
    for (let stage = 1; stage <= 7; stage++)
      expect(block(run, new RegExp(`^v2 ${stage}/7 `))).toMatch(
        /^ {5}controller: Accepted=True, ResolvedRefs=True at generation (\d+) \(of \1\)$/m
      )
    // The inserted rules come before reviews-api only by precedence: test users and sticky users reach v2.
    expect(block(run, /^v2 1\/7 /)).toMatch(/users v1 100% · test-user v2 100%/)
    expect(block(run, /^v2 2\/7 shadow/)).toMatch(
      /mirror: of \d+ requests on mirrored routes, \d+\.\d% copied to v2/
    )
    expect(block(run, /^v2 3\/7 5%/)).toMatch(
      /sticky: \d+ responses set istio-canary=v2 · \d+ users? sent istio-canary=v2: served v2 100%; users without a sticky cookie: v1 9\d\.\d% \/ v2 \d\.\d%/
    )
    const final = readFileSync(path.join(run.output, 'routing-final.yaml'), 'utf8')
    expect(final).toMatch(/kind: HTTPRoute/)
    expect(final).toMatch(/name: reviews-v2\n/)
    expect(final).not.toMatch(/reviews-v1|reviews-v3|-sticky|-test-user|RequestMirror/)
  })

  it('RouteRule: the Istio 0.2 tutorial, every rule printed as YAML', () => {
    const run = runs.RouteRule
    expect(run.stdout).toMatch(/^v2 2\/4 50% +advanced +users v1 \d+\.\d% \/ v2 \d+\.\d%/m)
    expect(run.stdout).toMatch(/metadata: \{ name: reviews-test-user \}/)
    expect(run.stdout).toMatch(/deleted: RouteRule reviews-test-user, Deployment reviews-v1/)
    const final = readFileSync(path.join(run.output, 'routing-final.yaml'), 'utf8')
    expect(final).toMatch(/name: reviews-default/)
    expect(final).not.toMatch(/reviews-test-user/)
  })
})
