/**
 * The bench's measuring functions. Each starts its own Kubernetes API test double (in this process, so its request
 * log can be time-stamped), brings the release to "stage 5% passed", and runs the action as the runner does
 * (startAction: a separate process; ACTION_ENTRY / ACTION_NODE choose the bundle and the Node binary).
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { isDeepStrictEqual, promisify } from 'node:util'
import { bookinfoObjects } from '../testkit/bookinfo.js'
import {
  type KubeApi,
  type KubeObject,
  type RecordedRequest,
  startKubeApi
} from '../testkit/kube-api/index.js'
import { type ActionResult, PROJECT_ROOT, startAction } from '../testkit/run-action.js'
import {
  NETWORKING,
  rollbackPlan,
  routedToStableOnly,
  routingObject,
  shiftedHttp,
  TRANSITION_PLAN,
  unrelatedRoutes,
  watchPlan,
  type HttpRoute
} from './fixtures.js'
import type { MwuTimings } from './mwu.js'

const execFileAsync = promisify(execFile)
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

// ---- the double, time-stamped, with the release at "5% passed" -------------------------------------------

interface Bench {
  api: KubeApi
  /** When the double recorded a request (performance.now() of this process), i.e. its receipt time. */
  receivedAt(request: RecordedRequest): number
  /** The VirtualService at "stage 5% passed", as stored; restore() puts it back before every sample. */
  passed: KubeObject
  restore(): void
  current(): KubeObject | undefined
  dir: string
  close(): Promise<void>
}

/** Time-stamps every request the double records (its log has no times of its own). */
function stampRequests(api: KubeApi): (request: RecordedRequest) => number {
  const times = new WeakMap<RecordedRequest, number>()
  const log = api.requests
  const push = log.push.bind(log)
  log.push = ((...items: RecordedRequest[]) => {
    const now = performance.now()
    for (const item of items) times.set(item, now)
    return push(...items)
  }) as typeof log.push
  return request => times.get(request) ?? NaN
}

function describeFailure(what: string, result: ActionResult): Error {
  const tail = (text: string) => text.split('\n').slice(-15).join('\n')
  return new Error(
    `${what}: exit ${result.exitCode}, outputs ${JSON.stringify(result.outputs)}\n${tail(result.stdout)}\n${tail(result.stderr)}`
  )
}

function actionInputs(api: KubeApi, plan: string): Record<string, string> {
  return { command: 'advance', plan, kubeconfig: api.kubeconfig(), report: 'none' }
}

async function setUp(options: { latencyMs: number; routes?: number }): Promise<Bench> {
  const api = await startKubeApi({ latencyMs: options.latencyMs })
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'))
  try {
    api.seed([...bookinfoObjects().filter(o => o.kind !== 'VirtualService'), routingObject(options.routes)])
    const receivedAt = stampRequests(api)
    const available = (name: string) => {
      const status = api.get('apps/v1', 'Deployment', 'default', name)?.status as
        { conditions?: { type: string; status: string }[] } | undefined
      return status?.conditions?.some(c => c.type === 'Available' && c.status === 'True') === true
    }
    await api.waitFor(() => available('reviews-v1') && available('reviews-v2'), 10_000)
    const current = () => api.get(NETWORKING, 'VirtualService', 'default', 'reviews')
    const first = await startAction({ inputs: actionInputs(api, TRANSITION_PLAN) }).result
    if (first.exitCode !== 0 || first.outputs.stage !== '5%')
      throw describeFailure('setup: advance to 5%', first)
    const passed = current()!
    return {
      api,
      receivedAt,
      passed,
      restore: () => void api.put(structuredClone(passed)),
      current,
      dir,
      close: async () => {
        await api.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (error) {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

export function requestLabel(request: RecordedRequest): string {
  const what = request.resource
    ? `${request.resource}${request.name ? `/${request.name}` : ''}`
    : request.path
  return `${request.method} ${what}${request.dryRun ? ' (dry run)' : ''}`
}

const isWrite = (request: RecordedRequest) =>
  ['create', 'update', 'patch', 'delete'].includes(request.verb) && !request.dryRun
const bodyBytes = (request: RecordedRequest) =>
  request.body === undefined ? 0 : Buffer.byteLength(JSON.stringify(request.body))

// ---- the weight-stage transition, by the action and by kubectl -------------------------------------------

export interface ActionSamples {
  /** Spawn of the process to its exit. */
  ms: number[]
  /** Spawn of the process to the double's receipt of its first request. */
  coldStartMs: number[]
  requests: number[]
  writes: number[]
  /** Bytes of the request bodies (JSON). */
  bodyBytes: number[]
  /** The requests of the last sample, in order. */
  log: string[]
}

export interface KubectlSamples {
  /** `kubectl get` + `kubectl patch`, both processes, start to exit. */
  ms: number[]
  requests: number[]
  /** Of those, discovery requests (/api, /apis, group and group-version documents). */
  discoveryRequests: number[]
  bodyBytes: number[]
  patchType: 'merge' | 'json'
  /** Whether the discovery cache started empty (a fresh runner) or warm (kept from an earlier sample). */
  cache: 'cold' | 'warm'
  log: string[]
}

export interface TransitionResult {
  /** Number of http routes in the VirtualService; undefined: the Bookinfo VirtualService (2 http routes + 1 tcp). */
  routes?: number
  unrelatedRoutes: number
  action: ActionSamples
  kubectl?: KubectlSamples
  kubectlWarm?: KubectlSamples
  /** The unrelated routes were equal before and after every sample (checked, else the bench fails). */
  unrelatedUntouched: boolean
  /** kubectl left the same spec as the action (the same transition). */
  sameResult?: boolean
}

export interface TransitionOptions {
  runs: number
  latencyMs: number
  routes?: number
  kubectl?: string
  /** Also time kubectl with a discovery cache kept across samples. */
  warmKubectl?: boolean
}

/** Patch arguments over this size do not fit one argv string (Linux MAX_ARG_STRLEN is 128 KiB). */
const MAX_PATCH_ARG = 120_000

async function kubectlTransition(
  kubectl: string,
  bench: Bench,
  cacheDir: string,
  weight: number
): Promise<{ ms: number; requests: RecordedRequest[]; patchType: 'merge' | 'json' }> {
  const kubeconfig = path.join(bench.dir, 'kubeconfig')
  if (!existsSync(kubeconfig)) bench.api.writeKubeconfig(kubeconfig)
  const common = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '-n', 'default']
  const env = { ...process.env, HOME: bench.dir, KUBECONFIG: kubeconfig }
  bench.api.clearRequests()
  const started = performance.now()
  const got = await execFileAsync(kubectl, [...common, 'get', 'virtualservice', 'reviews', '-o', 'json'], {
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000
  })
  const object = JSON.parse(got.stdout) as { spec: { http: HttpRoute[] } }
  const http = shiftedHttp(object.spec.http, weight)
  let patchType: 'merge' | 'json' = 'merge'
  let patch = JSON.stringify({ spec: { http } })
  if (patch.length > MAX_PATCH_ARG) {
    // What a script does when the merge patch is too long for the command line: replace the changed routes only.
    patchType = 'json'
    patch = JSON.stringify(
      http.flatMap((route, index) =>
        isDeepStrictEqual(route, object.spec.http[index])
          ? []
          : [{ op: 'replace', path: `/spec/http/${index}/route`, value: route.route }]
      )
    )
  }
  await execFileAsync(
    kubectl,
    [...common, 'patch', 'virtualservice', 'reviews', '--type', patchType, '-p', patch],
    {
      env,
      timeout: 60_000
    }
  )
  const ms = performance.now() - started
  return { ms, requests: [...bench.api.requests], patchType }
}

function emptyKubectlSamples(cache: 'cold' | 'warm'): KubectlSamples {
  return { ms: [], requests: [], discoveryRequests: [], bodyBytes: [], patchType: 'merge', cache, log: [] }
}

function recordKubectl(
  samples: KubectlSamples,
  run: { ms: number; requests: RecordedRequest[]; patchType: 'merge' | 'json' }
) {
  samples.ms.push(run.ms)
  samples.requests.push(run.requests.length)
  samples.discoveryRequests.push(run.requests.filter(r => r.verb === 'discovery').length)
  samples.bodyBytes.push(run.requests.reduce((sum, r) => sum + bodyBytes(r), 0))
  samples.patchType = run.patchType
  samples.log = run.requests.map(requestLabel)
}

/**
 * Advances from the passed stage "5%" to "50%" (`bake: 0s`, no checks) `runs` times, each time from the same
 * stored object, alternating with the kubectl script doing the same transition. Fails when a sample touches an
 * unrelated route or when kubectl and the action leave different specs.
 */
export async function measureTransition(options: TransitionOptions): Promise<TransitionResult> {
  const bench = await setUp(options)
  try {
    const unrelated = unrelatedRoutes(bench.passed)
    const action: ActionSamples = {
      ms: [],
      coldStartMs: [],
      requests: [],
      writes: [],
      bodyBytes: [],
      log: []
    }
    const kubectl = options.kubectl ? emptyKubectlSamples('cold') : undefined
    let sameResult: boolean | undefined
    for (let run = 0; run < options.runs; run++) {
      bench.restore()
      bench.api.clearRequests()
      const started = performance.now()
      const result = await startAction({ inputs: actionInputs(bench.api, TRANSITION_PLAN) }).result
      const elapsed = performance.now() - started
      const requests = [...bench.api.requests]
      if (result.exitCode !== 0 || result.outputs.stage !== '50%' || result.outputs.weight !== '50')
        throw describeFailure('advance 5% -> 50%', result)
      const after = bench.current()
      if (!isDeepStrictEqual(unrelatedRoutes(after), unrelated))
        throw new Error(
          `advance 5% -> 50% changed an unrelated route (${options.routes ?? 'bookinfo'} routes)`
        )
      action.ms.push(elapsed)
      action.coldStartMs.push(requests.length ? bench.receivedAt(requests[0]) - started : NaN)
      action.requests.push(requests.length)
      action.writes.push(requests.filter(isWrite).length)
      action.bodyBytes.push(requests.reduce((sum, r) => sum + bodyBytes(r), 0))
      action.log = requests.map(requestLabel)

      if (options.kubectl && kubectl) {
        bench.restore()
        const cacheDir = mkdtempSync(path.join(bench.dir, 'kube-cache-'))
        recordKubectl(kubectl, await kubectlTransition(options.kubectl, bench, cacheDir, 50))
        rmSync(cacheDir, { recursive: true, force: true })
        const same = isDeepStrictEqual(bench.current()?.spec, after?.spec)
        sameResult = (sameResult ?? true) && same
      }
    }
    let kubectlWarm: KubectlSamples | undefined
    if (options.kubectl && options.warmKubectl) {
      kubectlWarm = emptyKubectlSamples('warm')
      const cacheDir = mkdtempSync(path.join(bench.dir, 'kube-cache-'))
      bench.restore()
      await kubectlTransition(options.kubectl, bench, cacheDir, 50) // fills the discovery cache
      for (let run = 0; run < options.runs; run++) {
        bench.restore()
        recordKubectl(kubectlWarm, await kubectlTransition(options.kubectl, bench, cacheDir, 50))
      }
    }
    return {
      routes: options.routes,
      unrelatedRoutes: unrelated.length,
      action,
      ...(kubectl ? { kubectl } : {}),
      ...(kubectlWarm ? { kubectlWarm } : {}),
      unrelatedUntouched: true,
      ...(sameResult === undefined ? {} : { sameResult })
    }
  } finally {
    await bench.close()
  }
}

// ---- rollback latency ------------------------------------------------------------------------------------

interface HealthServer {
  url: string
  /** Serve 200 until one 200 has been sent, then 500 from that moment on. */
  arm(): void
  flippedAt?: number
  firstFailureAt?: number
  close(): Promise<void>
}

async function startHealthServer(): Promise<HealthServer> {
  let armed = false
  let failing = false
  const state: Partial<HealthServer> = {}
  const server = http.createServer((_request, response) => {
    if (failing) {
      state.firstFailureAt ??= performance.now()
      response.writeHead(500, { 'content-type': 'text/plain' }).end('canary down')
      return
    }
    response.on('finish', () => {
      if (!armed) return
      armed = false
      failing = true
      state.flippedAt = performance.now()
    })
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/productpage`,
    arm() {
      armed = true
      failing = false
      state.flippedAt = undefined
      state.firstFailureAt = undefined
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }) as HealthServer
}

export interface RollbackResult {
  /** The check's source flipping to 500 (right after it served a passing evaluation) to the routing restored. */
  latencyMs: number[]
  /** The failing evaluation (first 500 served) to the routing restored: the action's own reaction. */
  reactionMs: number[]
  /** The flip to the double's receipt of the restoring write. */
  writeReceivedMs: number[]
  intervalMs: number
  /** Requests between the failing evaluation and the end of the run, in order (last sample). */
  log: string[]
}

/**
 * `interval: 1s`, `failureLimit: 1`, an `http` check against a local server. The server flips to 500 right after
 * serving a passing evaluation, so the next evaluation is a whole interval away: the worst case.
 */
export async function measureRollback(options: { runs: number; latencyMs: number }): Promise<RollbackResult> {
  const bench = await setUp(options)
  const health = await startHealthServer()
  const result: RollbackResult = {
    latencyMs: [],
    reactionMs: [],
    writeReceivedMs: [],
    intervalMs: 1000,
    log: []
  }
  try {
    for (let run = 0; run < options.runs; run++) {
      bench.restore()
      bench.api.clearRequests()
      health.arm()
      let exited = false
      const running = startAction({ inputs: actionInputs(bench.api, rollbackPlan(health.url)) })
      void running.result.then(() => (exited = true))
      const deadline = performance.now() + 30_000
      let restoredAt: number | undefined
      while (!exited && performance.now() < deadline) {
        if (health.flippedAt !== undefined && routedToStableOnly(bench.current())) {
          restoredAt = performance.now()
          break
        }
        await sleep(2)
      }
      if (!exited && restoredAt === undefined) running.child.kill('SIGKILL')
      const outcome = await running.result
      if (
        restoredAt === undefined ||
        health.flippedAt === undefined ||
        outcome.outputs.status !== 'rolled-back'
      )
        throw describeFailure('rollback', outcome)
      const flippedAt = health.flippedAt
      const requests = [...bench.api.requests]
      const restoring = requests.filter(r => isWrite(r) && bench.receivedAt(r) > flippedAt)
      result.latencyMs.push(restoredAt - flippedAt)
      result.reactionMs.push(restoredAt - (health.firstFailureAt ?? NaN))
      result.writeReceivedMs.push(restoring.length ? bench.receivedAt(restoring[0]) - flippedAt : NaN)
      result.log = requests.filter(r => bench.receivedAt(r) > flippedAt).map(requestLabel)
    }
    return result
  } finally {
    await health.close()
    await bench.close()
  }
}

// ---- API requests of the watch ---------------------------------------------------------------------------

export interface WatchResult {
  evaluations: number
  /** Requests between the stage write and the read that marks the stage passed. */
  requests: number
  writes: number
  perEvaluation: number
  /** Distinct requests of one evaluation. */
  kinds: string[]
}

/** A `kubernetes` check every 500 ms over a 2 s bake: the requests the watch makes, per evaluation. */
export async function measureWatchRequests(options: {
  latencyMs: number
  evaluations?: number
}): Promise<WatchResult> {
  const bench = await setUp(options)
  try {
    bench.restore()
    bench.api.clearRequests()
    const outcome = await startAction({
      inputs: actionInputs(bench.api, watchPlan(options.evaluations ?? 4))
    }).result
    if (outcome.exitCode !== 0 || outcome.outputs.stage !== '50%') throw describeFailure('watch', outcome)
    const evaluations = ((outcome.report?.evaluations as unknown[] | undefined) ?? []).length
    const requests = [...bench.api.requests]
    const stageWrite = requests.findIndex(isWrite)
    let passRead = requests.length - 1
    while (
      passRead > stageWrite &&
      !(requests[passRead].verb === 'get' && requests[passRead].resource === 'virtualservices')
    )
      passRead--
    const window = requests.slice(stageWrite + 1, passRead)
    if (stageWrite < 0 || evaluations === 0)
      throw describeFailure('watch: no stage write or no evaluation', outcome)
    return {
      evaluations,
      requests: window.length,
      writes: window.filter(isWrite).length,
      perEvaluation: window.length / evaluations,
      kinds: [...new Set(window.map(requestLabel))]
    }
  } finally {
    await bench.close()
  }
}

// ---- peak memory -----------------------------------------------------------------------------------------

export interface MemoryResult {
  method: '/usr/bin/time -v' | 'process.resourceUsage().maxRSS'
  /** Peak resident set size of the action process for the transition, in KiB. */
  actionKiB: number[]
  /** The same for `kubectl get` and `kubectl patch` (with /usr/bin/time only). */
  kubectlGetKiB: number[]
  kubectlPatchKiB: number[]
}

function timeVMaxRss(file: string): number {
  const match = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(readFileSync(file, 'utf8'))
  if (!match) throw new Error(`no maximum resident set size in ${file}`)
  return Number(match[1])
}

/** Peak memory of the action process (advance 5% -> 50%), through a wrapper given to the runner as ACTION_NODE. */
export async function measureMemory(options: {
  runs: number
  latencyMs: number
  node: string
  kubectl?: string
}): Promise<MemoryResult> {
  const bench = await setUp(options)
  const timeV = existsSync('/usr/bin/time')
  const wrapper = path.join(bench.dir, 'node-wrapper.sh')
  const rssFile = path.join(bench.dir, 'rss')
  if (timeV) {
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/time -v -o "${rssFile}" "${options.node}" "$@"\n`, {
      mode: 0o755
    })
  } else {
    const hook = path.join(bench.dir, 'rss-hook.mjs')
    writeFileSync(
      hook,
      `import { writeFileSync } from 'node:fs'\nprocess.on('exit', () => writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)))\n`
    )
    writeFileSync(wrapper, `#!/bin/sh\nexec "${options.node}" --import "${hook}" "$@"\n`, { mode: 0o755 })
  }
  const result: MemoryResult = {
    method: timeV ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS',
    actionKiB: [],
    kubectlGetKiB: [],
    kubectlPatchKiB: []
  }
  const savedNode = process.env.ACTION_NODE
  try {
    process.env.ACTION_NODE = wrapper
    for (let run = 0; run < options.runs; run++) {
      bench.restore()
      rmSync(rssFile, { force: true })
      const outcome = await startAction({ inputs: actionInputs(bench.api, TRANSITION_PLAN) }).result
      if (outcome.exitCode !== 0) throw describeFailure('memory run', outcome)
      result.actionKiB.push(timeV ? timeVMaxRss(rssFile) : Number(readFileSync(rssFile, 'utf8')))
    }
  } finally {
    if (savedNode === undefined) delete process.env.ACTION_NODE
    else process.env.ACTION_NODE = savedNode
  }
  try {
    if (timeV && options.kubectl) {
      const kubeconfig = path.join(bench.dir, 'kubeconfig')
      bench.api.writeKubeconfig(kubeconfig)
      for (let run = 0; run < options.runs; run++) {
        const common = [
          '--kubeconfig',
          kubeconfig,
          '--cache-dir',
          mkdtempSync(path.join(bench.dir, 'c-')),
          '-n',
          'default'
        ]
        const timed = async (args: string[]) => {
          await execFileAsync('/usr/bin/time', ['-v', '-o', rssFile, options.kubectl!, ...common, ...args], {
            env: { ...process.env, HOME: bench.dir },
            maxBuffer: 64 * 1024 * 1024,
            timeout: 60_000
          })
          return timeVMaxRss(rssFile)
        }
        bench.restore()
        result.kubectlGetKiB.push(await timed(['get', 'virtualservice', 'reviews', '-o', 'json']))
        const patch = JSON.stringify({ metadata: { labels: { bench: String(run) } } })
        result.kubectlPatchKiB.push(
          await timed(['patch', 'virtualservice', 'reviews', '--type', 'merge', '-p', patch])
        )
      }
    }
    return result
  } finally {
    await bench.close()
  }
}

// ---- Mann-Whitney, Node start, bundle --------------------------------------------------------------------

/** Times the compare check's verdict on 10,000 + 10,000 samples in a fresh process on `node`. */
export async function measureMwu(options: { runs: number; node: string }): Promise<MwuTimings> {
  const { stdout } = await execFileAsync(
    options.node,
    [
      '--import',
      'tsx',
      path.join(PROJECT_ROOT, 'bench', 'mwu.ts'),
      '--runs',
      String(Math.max(5, options.runs * 3))
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 }
  )
  return JSON.parse(stdout) as MwuTimings
}

/** Spawn to exit of `node -e 0`: the floor under any cold start. */
export async function measureNodeStart(options: { runs: number; node: string }): Promise<number[]> {
  const samples: number[] = []
  for (let run = 0; run < options.runs; run++) {
    const started = performance.now()
    await execFileAsync(options.node, ['-e', '0'], {
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 30_000
    })
    samples.push(performance.now() - started)
  }
  return samples
}

export function bundleBytes(file = path.join(PROJECT_ROOT, 'dist', 'index.js')): number {
  return statSync(file).size
}

export interface BundleBreakdown {
  /** Sum of the module sizes ncc reports (source before minification). */
  inputBytes: number
  packages: { name: string; bytes: number; share: number }[]
  /** Of @kubernetes/client-node, the part in its generated API clients and models (dist/gen). */
  clientNodeGeneratedBytes: number
  /** Size of the bundle ncc wrote for these stats (minified, as `npm run package`). */
  outputBytes: number
}

interface StatsModule {
  name?: string
  identifier?: string
  size?: number
  modules?: StatsModule[]
}

/** Builds src/index.ts with ncc into a temporary folder (not dist/) with webpack stats, and sums module sizes per package. */
export async function bundleBreakdown(): Promise<BundleBreakdown> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-ncc-'))
  try {
    const stats = path.join(out, 'stats.json')
    await execFileAsync(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js'),
        'build',
        '--minify',
        '--stats-out',
        stats,
        'src/index.ts',
        '-o',
        path.join(out, 'dist')
      ],
      { cwd: PROJECT_ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }
    )
    const leaves: StatsModule[] = []
    const walk = (modules: StatsModule[]) => {
      for (const module of modules) {
        if (module.modules?.length) walk(module.modules)
        else leaves.push(module)
      }
    }
    walk((JSON.parse(readFileSync(stats, 'utf8')) as { modules: StatsModule[] }).modules)
    const seen = new Set<string>()
    const byPackage = new Map<string, number>()
    let inputBytes = 0
    let clientNodeGeneratedBytes = 0
    for (const module of leaves) {
      const name = module.name ?? module.identifier ?? ''
      if (seen.has(name)) continue
      seen.add(name)
      const size = module.size ?? 0
      const pkg =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(name)?.[1] ??
        (name.includes('src/') ? '(this project: src/)' : '(other)')
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + size)
      if (/@kubernetes\/client-node\/dist\/gen\//.test(name)) clientNodeGeneratedBytes += size
      inputBytes += size
    }
    const packages = [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, bytes]) => ({ name, bytes, share: Math.round((bytes / inputBytes) * 1000) / 1000 }))
    return {
      inputBytes,
      packages,
      clientNodeGeneratedBytes,
      outputBytes: statSync(path.join(out, 'dist', 'index.js')).size
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
