/**
 * Fault matrix: for each transition, every Kubernetes API request it makes fails in turn (500, 409, 429 with
 * Retry-After, a timeout, a dropped connection). The request sequence is discovered from a clean run of the
 * same transition. After each faulted run the routing must be exactly one consistent stage, the run must say
 * what happened, and a plain re-run must converge.
 *
 * The matrix is about the engine against a failing API, not about the action's process: its hundreds of runs
 * call the engine in this process. The last test runs the action as the runner does, for what the process adds
 * to a failed run (one `::error::` line, the exit code).
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import yaml from 'js-yaml'
import {
  startKubeApi,
  type Fault,
  type KubeApi,
  type KubeObject,
  type RecordedRequest
} from '../../testkit/kube-api/index.js'
import {
  bookinfoObjects,
  deployment,
  ingressObjects,
  SEED_PLAN,
  VS_PLAN,
  withIngress
} from '../../testkit/bookinfo.js'
import { runAction } from '../../testkit/run-action.js'
import type { EngineCommand } from '../../src/engine/index.js'
import { decodeTarget, type ReleaseState } from '../../src/engine/state.js'
import type { RoutingSpecs } from '../../src/routers/router.js'
import {
  drift,
  errorLines,
  forSeed,
  primaryName,
  releaseState,
  routingObjects,
  routingSpecs,
  type RouterKind,
  STACK_FRAME,
  unknownSubsets
} from './helpers.js'

/**
 * The per-call limit the runs get. The engine shares this process with the clusters of the cases running beside it,
 * so a busy machine can slow an answer by a good part of a second: the limit leaves room for that.
 */
const TIMEOUT_MS = 2000
// The Kubernetes client reads its call timeout when it is loaded, so the engine is loaded after this.
process.env.ISTIO_CANARY_API_TIMEOUT_MS = String(TIMEOUT_MS)
const { logged, runEngine } = await import('../support/run-engine.js')
type EngineRun = Awaited<ReturnType<typeof runEngine>>
const READ_VERBS = ['get', 'list', 'discovery']

/** Two match stages, so a match stage adds a RouteRule next to existing ones; nothing to watch (`bake: 0s`). */
const ROUTE_RULE_PLAN = SEED_PLAN.replace(
  '  - weight: 50\n',
  '  - name: beta\n    match:\n      headers:\n        x-beta: { exact: "1" }\n  - weight: 50\n'
).replace('  - weight: 100\n', '')

type Kind = '500' | '409' | '429' | 'timeout' | 'drop'

const FAULTS: Record<Kind, Omit<Fault, 'path'>> = {
  '500': { status: 500 },
  '409': { status: 409 },
  '429': { status: 429, retryAfterSeconds: 1 },
  timeout: { delayMs: TIMEOUT_MS + 700 },
  drop: { drop: true }
}

/** What the one-line error must say for each fault. */
const MESSAGES: Record<Kind, RegExp> = {
  '500': /Internal error occurred: injected fault \(InternalError, HTTP 500\)/,
  '409': /conflict|Conflict, HTTP 409/,
  '429': /Too many requests.*HTTP 429/,
  timeout: new RegExp(`no answer within ${TIMEOUT_MS / 1000}s`),
  drop: /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ \((ECONNRESET|socket hang up)/
}

interface Transition {
  name: string
  router: RouterKind
  plan: string
  /** Clean runs that bring the cluster to the state before the transition. */
  setup: EngineCommand[]
  command: 'advance' | 'rollback'
  kinds: Kind[]
  /** Kinds tried only on write requests (reads are covered by the other kinds). */
  writeOnlyKinds?: Kind[]
  deploy?: boolean
  /** The release also moves the ingress gateway's VirtualService, in another namespace. */
  ingress?: boolean
}

const TRANSITIONS: Transition[] = [
  {
    name: 'weight stage (VirtualService, test-user -> 5%)',
    router: 'VirtualService',
    plan: VS_PLAN,
    setup: ['advance'],
    command: 'advance',
    kinds: ['500', '409', '429', 'timeout', 'drop']
  },
  {
    name: 'weight stage over two namespaces (mesh and ingress VirtualService, test-user -> 5%)',
    router: 'VirtualService',
    plan: withIngress(VS_PLAN),
    setup: ['advance'],
    command: 'advance',
    kinds: ['500', '409', 'drop'],
    ingress: true
  },
  {
    name: 'pin and first stage over two namespaces (idle -> test-user)',
    router: 'VirtualService',
    plan: withIngress(VS_PLAN),
    setup: [],
    command: 'advance',
    kinds: ['500', 'drop'],
    ingress: true
  },
  {
    name: 'manual rollback over two namespaces (5% -> rollback target)',
    router: 'VirtualService',
    plan: withIngress(VS_PLAN),
    setup: ['advance', 'advance'],
    command: 'rollback',
    kinds: ['500'],
    writeOnlyKinds: ['409', 'drop'],
    ingress: true
  },
  {
    name: 'pin and first stage (VirtualService, idle -> test-user)',
    router: 'VirtualService',
    plan: VS_PLAN,
    setup: [],
    command: 'advance',
    kinds: ['500', 'drop']
  },
  {
    name: 'match stage (RouteRule, test-user -> beta)',
    router: 'RouteRule',
    plan: ROUTE_RULE_PLAN,
    setup: ['advance'],
    command: 'advance',
    kinds: ['500', '409', 'drop']
  },
  {
    name: 'finalize (RouteRule, 50% -> finalize, deletes the stable Deployment)',
    router: 'RouteRule',
    plan: ROUTE_RULE_PLAN,
    setup: ['advance', 'advance', 'advance'],
    command: 'advance',
    kinds: ['500'],
    writeOnlyKinds: ['drop']
  },
  {
    name: 'manual rollback (RouteRule, beta -> rollback target)',
    router: 'RouteRule',
    plan: ROUTE_RULE_PLAN,
    setup: ['advance', 'advance'],
    command: 'rollback',
    kinds: ['500', '429', 'drop'],
    writeOnlyKinds: ['409']
  },
  {
    name: 'deploy manifests (VirtualService, idle -> pin, deploy v2 -> test-user)',
    router: 'VirtualService',
    plan: `${VS_PLAN}deploy:\n  manifests: [k8s/reviews-v2.yaml]\n  timeout: 20s\n`,
    setup: [],
    command: 'advance',
    kinds: ['500'],
    writeOnlyKinds: ['drop'],
    deploy: true
  }
]

interface Step {
  method: string
  path: string
  verb: string
}

interface Checkpoint {
  label: string
  specs: RoutingSpecs
  stageIndex: number
}

/** What a clean run of the transition did, and the routing before and after it. */
interface Template {
  objects: KubeObject[]
  deployments: KubeObject[]
  steps: Step[]
  checkpoints: Checkpoint[]
  before: { specs: RoutingSpecs; state?: ReleaseState }
  after: { specs: RoutingSpecs; state?: ReleaseState; status: string }
}

const workspace = (() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fault-ws-'))
  mkdirSync(path.join(dir, 'k8s'))
  writeFileSync(path.join(dir, 'k8s', 'reviews-v2.yaml'), yaml.dump(deployment('v2')))
  return dir
})()

const apis: KubeApi[] = []
afterAll(async () => {
  await Promise.all(apis.map(api => api.close()))
})

async function newApi(): Promise<KubeApi> {
  const api = await startKubeApi()
  apis.push(api)
  return api
}

function run(api: KubeApi, t: Transition, command: EngineCommand): Promise<EngineRun> {
  return runEngine({ plan: t.plan, kubeconfig: api.kubeconfig(), command, workspace })
}

/** The action as the runner starts it, with the same plan, cluster and call timeout as `run`. */
function runProcess(api: KubeApi, t: Transition, command: EngineCommand) {
  return runAction({
    inputs: { plan: t.plan, kubeconfig: api.kubeconfig(), report: 'none', command },
    env: { ISTIO_CANARY_API_TIMEOUT_MS: String(TIMEOUT_MS) },
    workspace
  })
}

/**
 * A transition that deploys waits for the canary by polling (about once a second). So that every run of it polls as
 * often as the clean run did, however busy the machine, the canary stays unavailable until the first poll after
 * the canary was written, and becomes available before the next. Returns what stops the hold.
 */
function holdCanaryUntilPolled(api: KubeApi, t: Transition): () => void {
  if (!t.deploy) return () => {}
  api.setDeploymentHealth('default', 'reviews-v2', { available: false })
  const isDeployments = (r: RecordedRequest) => r.resource === 'deployments'
  const polledAfterWrite = () => {
    const written = api.requests.findIndex(
      r => isDeployments(r) && ['create', 'update', 'patch'].includes(r.verb)
    )
    return written >= 0 && api.requests.slice(written + 1).some(r => isDeployments(r) && r.verb === 'list')
  }
  let stopped = false
  // This process runs the engine too, so this check comes round long before the engine's next poll.
  void api
    .waitFor(() => stopped || polledAfterWrite(), 240_000)
    .then(() => {
      if (!stopped) api.setDeploymentHealth('default', 'reviews-v2', { available: true })
    })
  return () => void (stopped = true)
}

function seedBase(api: KubeApi, t: Transition): void {
  api.seed(bookinfoObjects({ router: t.router }))
  if (t.ingress) api.seed(ingressObjects())
  if (t.deploy) api.remove('apps/v1', 'Deployment', 'default', 'reviews-v2')
}

async function discover(t: Transition): Promise<Template> {
  const api = await newApi()
  seedBase(api, t)
  await api.deploymentsAvailable()
  for (const command of t.setup) expect((await run(api, t, command)).error).toBeUndefined()
  const before = { specs: routingSpecs(api, t.router), state: releaseState(api, t.router) }
  const objects = routingObjects(api, t.router).map(forSeed)
  const deployments = api.list('apps/v1', 'Deployment', 'default').map(forSeed)
  api.clearRequests()
  const stopHold = holdCanaryUntilPolled(api, t)
  const clean = await run(api, t, t.command)
  stopHold()
  expect(clean.error).toBeUndefined()
  const steps = api.requests.map(r => ({ method: r.method, path: r.path, verb: r.verb }))
  const state = releaseState(api, t.router)
  const after = { specs: routingSpecs(api, t.router), state, status: clean.report!.status }
  const beforeIndex = before.state?.stageIndex ?? 0
  const checkpoints: Checkpoint[] = [
    { label: 'before', specs: before.specs, stageIndex: beforeIndex },
    { label: 'after', specs: after.specs, stageIndex: t.command === 'rollback' ? 0 : state!.stageIndex }
  ]
  if (!before.state && t.command === 'advance') {
    // The pin: the first write of each object, the primary's carrying the rollback target.
    const pinned = { ...before.specs }
    for (const name of Object.keys(before.specs).length
      ? Object.keys(before.specs)
      : [primaryName(t.router)]) {
      const pin = api.requests.find(
        r =>
          r.verb !== 'get' && r.verb !== 'list' && (r.body as KubeObject | undefined)?.metadata?.name === name
      )
      if (pin) pinned[name] = (pin.body as KubeObject).spec as RoutingSpecs[string]
    }
    checkpoints.push({ label: 'pinned', specs: pinned, stageIndex: 0 })
  }
  return { objects, deployments, steps, checkpoints, before, after }
}

const sameSpecs = (a: RoutingSpecs, b: RoutingSpecs) => JSON.stringify(a) === JSON.stringify(b)

/** Problems with the routing as it is now: not one checkpoint, drift, routes to unknown subsets. */
function routingProblems(
  api: KubeApi,
  t: Transition,
  tpl: Template,
  kind: Kind | undefined,
  anyStage = false
): string[] {
  const problems: string[] = []
  const specs = routingSpecs(api, t.router)
  const checkpoint = tpl.checkpoints.find(c => sameSpecs(c.specs, specs))
  const state = releaseState(api, t.router)
  if (anyStage) {
    // Later than the checkpoints: only agreement with the state is checked below.
  } else if (!checkpoint) {
    // A write whose outcome the client cannot know (timeout, dropped connection) may leave a multi-object
    // write unfinished; that is consistent only when the state records the unfinished write.
    const unknownOutcome = kind === 'timeout' || kind === 'drop'
    if (!(unknownOutcome && state?.previous && (state.phase === 'watching' || state.phase === 'pinned')))
      problems.push(
        `routing is none of ${tpl.checkpoints.map(c => c.label).join('/')}: ${JSON.stringify(specs)}`
      )
  } else if (state && checkpoint.label !== 'before' && !state.previous) {
    const expected = checkpoint.label === 'after' ? tpl.after.state : undefined
    if (expected && (state.stageIndex !== expected.stageIndex || state.phase !== expected.phase))
      problems.push(`routing is '${checkpoint.label}' but the state says ${state.stageIndex}/${state.phase}`)
  }
  const drifted = drift(api, t.router, t.plan)
  if (drifted.length) problems.push(`state and routing disagree on ${drifted.join(', ')}`)
  if (t.router === 'VirtualService') {
    const unknown = unknownSubsets(api)
    if (unknown.length) problems.push(`routes to subsets that do not exist: ${unknown.join(', ')}`)
  }
  return problems
}

async function settle(api: KubeApi): Promise<void> {
  // A delayed request is answered after the client gave up: wait until the double has handled it.
  await api.waitFor(() => api.requests.every(r => r.status !== 0 || r.verb === 'other'), 5000).catch(() => {})
}

function transient(kind: Kind): boolean {
  return kind !== '409'
}

async function faultCase(t: Transition, tpl: Template, index: number, kind: Kind): Promise<string[]> {
  const step = tpl.steps[index]
  const nth = tpl.steps
    .slice(0, index + 1)
    .filter(s => s.method === step.method && s.path === step.path).length
  const at = `#${index + 1} ${step.method} ${step.path} (${kind})`
  const api = await newApi()
  let stopHold = () => {}
  try {
    seedBase(api, t)
    for (const name of ['reviews-v1', 'reviews-v2']) {
      if (!tpl.deployments.some(d => d.metadata.name === name))
        api.remove('apps/v1', 'Deployment', 'default', name)
    }
    api.seed(tpl.objects)
    await api.deploymentsAvailable()
    api.clearRequests()
    // Held for the faulted run and its re-run, whichever gets to write the canary.
    stopHold = holdCanaryUntilPolled(api, t)
    api.injectFault({ method: step.method, path: step.path, nth, ...FAULTS[kind] })
    const result = await run(api, t, t.command)
    if (kind === 'timeout') await settle(api)
    const problems: string[] = []
    const say = (problem: string) => problems.push(`${at}: ${problem}`)
    const isRead = READ_VERBS.includes(step.verb)
    // Reads are retried on transient errors; a rollback retries its writes and re-reads on a conflict. A
    // conditional update or delete refused with 409 reads the object again: when nothing but its status moved
    // (a Gateway API controller's status write; here the fault changed nothing at all), the write goes again.
    const conflictRetried = kind === '409' && (step.method === 'PUT' || step.method === 'DELETE')
    const retried = t.command === 'rollback' || (transient(kind) && isRead) || conflictRetried
    const recover = async (result: EngineRun) => {
      for (const p of routingProblems(api, t, tpl, kind)) say(p)
      if (retried) {
        if (result.error !== undefined) say(`a transient fault was not retried: ${result.error}`)
        if (transient(kind) && !logged(result, 'warning').some(line => line.startsWith('Kubernetes API:')))
          say('no retry warning was printed')
        if (!sameSpecs(routingSpecs(api, t.router), tpl.after.specs)) say('routing is not the stage after')
        return
      }
      // The action prints the first line of the error as its one `::error::` line (see the last test).
      const shown = result.error?.split('\n')[0]
      if (shown === undefined) {
        say('a fault that cannot be retried was reported as success')
      } else if (!MESSAGES[kind].test(shown)) {
        say(`the error does not say what happened: ${shown}`)
      }
      if (STACK_FRAME.test([...logged(result, 'info'), ...logged(result, 'warning')].join('\n')))
        say('stack trace in the log')
      // Re-run without the fault: it must converge.
      const landed = releaseState(api, t.router)
      const again = await run(api, t, t.command)
      if (again.error !== undefined) {
        say(`re-run failed: ${again.error}`)
        return
      }
      const now = releaseState(api, t.router)
      if (t.command === 'rollback') {
        for (const p of routingProblems(api, t, tpl, undefined)) say(`after re-run: ${p}`)
        if (now?.phase !== 'rolled-back') say(`re-run did not roll back (${now?.phase})`)
        if (!sameSpecs(routingSpecs(api, t.router), tpl.after.specs))
          say('re-run did not restore the rollback target')
        return
      }
      const afterIndex = tpl.after.state!.stageIndex
      const completedBefore =
        landed?.stageIndex === afterIndex && (landed.phase === 'passed' || landed.phase === 'completed')
      const last = landed?.phase === 'completed'
      const expected = completedBefore && !last ? afterIndex + 1 : afterIndex
      for (const p of routingProblems(api, t, tpl, undefined, completedBefore)) say(`after re-run: ${p}`)
      if (now?.stageIndex !== expected) say(`re-run is at stage ${now?.stageIndex}, expected ${expected}`)
      if (!completedBefore && !sameSpecs(routingSpecs(api, t.router), tpl.after.specs))
        say('re-run did not converge to the stage after')
    }
    await recover(result)
    return problems
  } finally {
    stopHold()
    apis.splice(apis.indexOf(api), 1)
    await api.close()
  }
}

for (const t of TRANSITIONS) {
  describe(t.name, () => {
    let tpl: Template
    const template = async () => (tpl ??= await discover(t))
    const kinds = [...t.kinds, ...(t.writeOnlyKinds ?? [])]
    it.each(kinds)(
      'a %s at each request leaves one consistent stage, says so, and converges',
      async kind => {
        const tplNow = await template()
        const writesOnly = !t.kinds.includes(kind)
        const indexes = tplNow.steps
          .map((step, index) => ({ step, index }))
          .filter(({ step }) => !writesOnly || !READ_VERBS.includes(step.verb))
          .map(({ index }) => index)
        expect(indexes.length).toBeGreaterThan(0)
        // Each case has a cluster of its own, so they run side by side: most of a case is waiting (backoffs,
        // Retry-After, timeouts, rollouts).
        const problems = await Promise.all(indexes.map(index => faultCase(t, tplNow, index, kind)))
        expect(problems.flat()).toEqual([])
      },
      240_000
    )
  })
}

describe('a rollback that cannot be written', () => {
  it('fails loudly with the command an operator can run by hand, and the annotation it reads is intact', async () => {
    const api = await newApi()
    api.seed(bookinfoObjects())
    await api.deploymentsAvailable()
    const t = TRANSITIONS[0]
    const target = structuredClone(api.get('networking.istio.io/v1', 'VirtualService', 'default', 'reviews')!)
    expect((await run(api, t, 'advance')).error).toBeUndefined()
    expect((await run(api, t, 'advance')).error).toBeUndefined()
    api.clearRequests()
    api.injectFault({ method: 'PUT', path: /virtualservices\/reviews$/, status: 503, times: 50 })
    const failed = await runProcess(api, t, 'rollback')
    expect(failed.exitCode).toBe(1)
    const errors = errorLines(failed)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^rollback failed: update VirtualService default\/reviews: .*HTTP 503/)
    expect(errors[0]).toContain(
      "Restore by hand: kubectl -n default get virtualservices.networking.istio.io reviews -o jsonpath='{.metadata.annotations.reviews\\.default\\.istio-canary-action\\.github\\.io/rollback-target}' | base64 -d | gunzip"
    )
    // Every attempt was made (retried), and none of them changed anything.
    expect(api.requests.filter(r => r.method === 'PUT').length).toBeGreaterThanOrEqual(4)
    expect(api.writes()).toEqual([])
    // What the command prints is the pinned routing.
    const annotations = api.get('networking.istio.io/v1', 'VirtualService', 'default', 'reviews')!.metadata
      .annotations as Record<string, string>
    expect(decodeTarget(annotations, { service: 'reviews', namespace: 'default' })).toEqual({
      'default/reviews': target.spec
    })
    api.clearFaults()
    const again = await run(api, t, 'rollback')
    expect(again.error).toBeUndefined()
    expect(api.get('networking.istio.io/v1', 'VirtualService', 'default', 'reviews')!.spec).toEqual(
      target.spec
    )
  }, 60_000)
})
