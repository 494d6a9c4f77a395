/**
 * `npm run demo`: the whole product on a simulated cluster, in about a minute.
 *
 * Starts the Kubernetes API double seeded with Bookinfo's reviews (v1 serving, v2 and v3 deployed), the traffic
 * simulator, Prometheus when it is installed, and a fake GitHub; then releases v2 through every stage of its
 * plan, one run of the bundled action per stage as one workflow run per approval, and finally releases a faulty
 * v3 that the checks catch at its first stage and the action rolls back.
 *
 *   npm run demo [-- --router VirtualService|RouteRule] [--output DIR] [--no-prometheus] [--entry dist|src]
 *
 * Writes the PR comment, the job summaries, the run reports and the routing at every step to `demo-output/`.
 * Exits 0 when the story went as expected, 1 when it did not, 130 when interrupted.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Document, isScalar, stringify, visit } from 'yaml'
import { bookinfoObjects } from '../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../testkit/github-api/fake-github.js'
import { startKubeApi, type KubeApi, type KubeObject } from '../testkit/kube-api/index.js'
import { startIstioExporter, type IstioExporter } from '../testkit/prometheus/istio-exporter.js'
import { startPrometheus, type PrometheusServer } from '../testkit/prometheus/prometheus-server.js'
import { PROJECT_ROOT, startAction, type ActionResult, type RunningAction } from '../testkit/run-action.js'
import { demoPlan, planYaml, type RouterKind } from './plans.js'
import { formatSplit, type RoutingObjects } from './routing.js'
import {
  startTrafficSimulator,
  type Segment,
  type Tally,
  type TrafficSimulator
} from './traffic-simulator.js'

const NETWORKING = 'networking.istio.io/v1'
const CONFIG = 'config.istio.io/v1alpha2'
const NAMESPACE = 'default'
const SERVICE = 'reviews'
const REPOSITORY = 'octo-org/bookinfo'
const SHA = 'c0ffee0000000000000000000000000000000042'
const PR_NUMBER = 42
/** Bounds a single action run; a stage bakes for 3s. */
const RUN_TIMEOUT_MS = 60_000

interface DemoOptions {
  router: RouterKind
  output: string
  prometheus: boolean
  entry: 'dist' | 'src'
}

class DemoFailure extends Error {}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run demo -- [--router VirtualService|RouteRule] [--output DIR] [--no-prometheus] [--entry dist|src]\n`
  )
  process.exit(2)
}

function parseArgs(argv: string[]): DemoOptions {
  const options: DemoOptions = {
    router: 'VirtualService',
    output: path.join(PROJECT_ROOT, 'demo-output'),
    prometheus: true,
    entry: 'dist'
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined]
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`)
    switch (flag) {
      case '--router': {
        const router = value()
        if (router !== 'VirtualService' && router !== 'RouteRule') usage(`unknown router: ${router}`)
        options.router = router
        break
      }
      case '--output':
        options.output = path.resolve(value())
        break
      case '--no-prometheus':
        options.prometheus = false
        break
      case '--entry': {
        const entry = value()
        if (entry !== 'dist' && entry !== 'src') usage(`unknown entry: ${entry}`)
        options.entry = entry
        break
      }
      case '--help':
      case '-h':
        usage('Releases Bookinfo reviews v2, then a faulty v3, on a simulated cluster.')
      // falls through (usage exits)
      default:
        usage(`unknown argument: ${argv[i]}`)
    }
  }
  return options
}

// ---------------------------------------------------------------------------------------------- output

const color = process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code: string) => (text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text)
const bold = paint('1')
const dim = paint('2')
const green = paint('32')
const red = paint('31')
const yellow = paint('33')

const say = (line = '') => process.stdout.write(`${line}\n`)

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

function counts(tallies: Record<string, Tally>): Record<string, number> {
  return Object.fromEntries(Object.entries(tallies).map(([label, tally]) => [label, tally.requests]))
}

/** The split the simulator observed, and the 5xx share of every version that answered any. */
function describeSegment(segment: Segment | undefined): string {
  if (!segment) return 'no traffic observed'
  const split = `users ${formatSplit(counts(segment.users))} · test-user ${formatSplit(counts(segment.testUser))}`
  const byVersion: Record<string, Tally> = {}
  for (const [label, tally] of [...Object.entries(segment.users), ...Object.entries(segment.testUser)]) {
    const total = (byVersion[label] ??= { requests: 0, errors: 0 })
    total.requests += tally.requests
    total.errors += tally.errors
  }
  const errors = Object.entries(byVersion)
    .filter(([, tally]) => tally.errors > 0)
    .map(([label, tally]) => `${label} ${((100 * tally.errors) / tally.requests).toFixed(1)}%`)
  return errors.length > 0 ? `${split} · ${red(`5xx ${errors.join(' / ')}`)}` : split
}

/**
 * The traffic of the routing a run left in effect (an advance) or was watching when it reverted (a rollback):
 * the last segment whose routing differs from the one before the run; the last segment when nothing changed.
 */
function stageSegment(segments: Segment[]): Segment | undefined {
  const before = segments[0]?.routing
  return segments.filter(segment => segment.routing !== before).at(-1) ?? segments.at(-1)
}

interface EvaluationLike {
  check: string
  kind: string
  value: number | null
  threshold: string
  verdict: 'pass' | 'fail' | 'nodata'
}

function formatValue(evaluation: EvaluationLike): string {
  const { value, kind } = evaluation
  if (value === null) return 'no value'
  if (kind === 'kubernetes') return `${value} restarts`
  if (kind === 'http') return `HTTP ${value}`
  return Number.isInteger(value) && kind !== 'prometheus' ? String(value) : value.toFixed(3)
}

/** Per check: its last value (or the failing one), threshold and verdict, on one line. */
function describeChecks(report: Record<string, unknown> | undefined): string {
  const evaluations = (report?.evaluations ?? []) as EvaluationLike[]
  if (evaluations.length === 0) return 'no evaluations'
  const byCheck = new Map<string, EvaluationLike[]>()
  for (const evaluation of evaluations)
    byCheck.set(evaluation.check, [...(byCheck.get(evaluation.check) ?? []), evaluation])
  const rounds = Math.max(...[...byCheck.values()].map(list => list.length))
  const checks = [...byCheck.entries()].map(([name, list]) => {
    const shown = list.find(evaluation => evaluation.verdict === 'fail') ?? list.at(-1)!
    const verdict =
      shown.verdict === 'pass' ? green('ok') : shown.verdict === 'fail' ? red('FAIL') : yellow('no data')
    const threshold = shown.kind === 'prometheus' || shown.verdict === 'fail' ? ` (${shown.threshold})` : ''
    const noData = list.filter(evaluation => evaluation.verdict === 'nodata').length
    const note =
      noData > 0 && shown.verdict !== 'nodata'
        ? dim(` (${noData} round${noData > 1 ? 's' : ''} no data yet)`)
        : ''
    return `${name} ${formatValue(shown)}${threshold} ${verdict}${note}`
  })
  return `${dim(`${rounds} round${rounds > 1 ? 's' : ''}:`)} ${checks.join(' · ')}`
}

// ---------------------------------------------------------------------------------------------- cluster

function cleanObject(object: KubeObject, withAnnotations: boolean): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name: object.metadata.name,
    namespace: object.metadata.namespace
  }
  const annotations = object.metadata.annotations as Record<string, string> | undefined
  if (withAnnotations && annotations && Object.keys(annotations).length > 0)
    metadata.annotations = annotations
  return { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: object.spec }
}

function routingObjects(api: KubeApi, router: RouterKind): KubeObject[] {
  if (router === 'RouteRule') return api.list(CONFIG, 'RouteRule', NAMESPACE)
  return [
    ...api.list(NETWORKING, 'VirtualService', NAMESPACE),
    ...api.list(NETWORKING, 'DestinationRule', NAMESPACE)
  ]
}

/** YAML with maps and lists of plain values on one line (`labels: { version: v2 }`), as a terminal shows best. */
function compactYaml(value: unknown): string {
  const document = new Document(value)
  visit(document, {
    Map(_, node) {
      if (node.items.every(pair => isScalar(pair.value))) node.flow = true
    },
    Seq(_, node) {
      if (node.items.every(item => isScalar(item))) node.flow = true
    }
  })
  return document.toString({ lineWidth: 0 })
}

function routingYaml(objects: KubeObject[], withAnnotations: boolean): string {
  return objects
    .map(object => stringify(cleanObject(object, withAnnotations), { lineWidth: 0 }))
    .join('---\n')
}

function reviewsDeployments(api: KubeApi): string[] {
  return api
    .list('apps/v1', 'Deployment', NAMESPACE)
    .filter(deployment => (deployment.metadata.labels as Record<string, string> | undefined)?.app === SERVICE)
    .map(deployment => deployment.metadata.name)
    .sort()
}

function readRouting(api: KubeApi): RoutingObjects {
  const deployed = api
    .list('apps/v1', 'Deployment', NAMESPACE)
    .map(deployment => deployment.metadata.labels as Record<string, string> | undefined)
    .filter(labels => labels?.app === SERVICE && typeof labels.version === 'string')
    .map(labels => labels!.version)
    .sort()
  return {
    virtualServices: api.list(NETWORKING, 'VirtualService', NAMESPACE),
    destinationRules: api.list(NETWORKING, 'DestinationRule', NAMESPACE),
    routeRules: api.list(CONFIG, 'RouteRule', NAMESPACE),
    deployedVersions: deployed
  }
}

/** Percent of the shifted route's traffic on each version, straight from the routing objects. */
function configuredSplit(api: KubeApi, router: RouterKind): Record<string, number> {
  const split: Record<string, number> = {}
  if (router === 'RouteRule') {
    const rule = api.get(CONFIG, 'RouteRule', NAMESPACE, `${SERVICE}-default`)
    const routes = ((rule?.spec as Record<string, unknown> | undefined)?.route ?? []) as {
      labels?: Record<string, string>
      weight?: number
    }[]
    for (const route of routes)
      split[route.labels?.version ?? '?'] = route.weight ?? (routes.length === 1 ? 100 : 0)
    return split
  }
  const vs = api.get(NETWORKING, 'VirtualService', NAMESPACE, SERVICE)
  const http = ((vs?.spec as Record<string, unknown> | undefined)?.http ?? []) as {
    name?: string
    route?: { destination: { subset?: string }; weight?: number }[]
  }[]
  const route = http.find(entry => entry.name === 'reviews-route')
  for (const destination of route?.route ?? [])
    split[destination.destination.subset ?? '?'] =
      destination.weight ?? ((route?.route ?? []).length === 1 ? 100 : 0)
  return split
}

// ---------------------------------------------------------------------------------------------- the story

interface Stack {
  api?: KubeApi
  exporter?: IstioExporter
  prometheus?: PrometheusServer
  simulator?: TrafficSimulator
  github?: FakeGitHub
  running?: RunningAction
}

interface Release {
  revision: string
  stable: string
  plan: Record<string, unknown>
}

interface RunRecord {
  n: number
  revision: string
  result: ActionResult
  segment?: Segment
}

function ensureDir(directory: string) {
  mkdirSync(directory, { recursive: true })
}

function prepareOutput(output: string) {
  ensureDir(output)
  // Only what this demo writes is cleared, in case --output names a directory with other content.
  for (const entry of ['reports', 'summaries', 'logs', 'routing', 'plans'])
    rmSync(path.join(output, entry), { recursive: true, force: true })
  for (const entry of ['pr-comment.md', 'job-summary.md', 'commit-statuses.json', 'routing-final.yaml'])
    rmSync(path.join(output, entry), { force: true })
  for (const entry of ['reports', 'summaries', 'logs', 'routing', 'plans'])
    ensureDir(path.join(output, entry))
}

async function waitMs(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true }
    )
  })
}

async function runDemo(options: DemoOptions, stack: Stack, signal: AbortSignal): Promise<void> {
  const started = Date.now()
  const router = options.router
  const entryFile = path.join(PROJECT_ROOT, options.entry === 'dist' ? 'dist/index.js' : 'src/index.ts')
  if (!existsSync(entryFile))
    throw new DemoFailure(
      `${path.relative(PROJECT_ROOT, entryFile)} is missing: run \`npm run package\` first`
    )
  prepareOutput(options.output)
  const rel = (file: string) => path.relative(process.cwd(), file) || '.'

  say(bold(`istio-canary-action demo: Bookinfo reviews on a simulated cluster, router ${router}`))

  // The cluster: reviews v1 serving, v2 and v3 deployed; routing as a VirtualService or (Istio 0.2) none yet.
  const api = (stack.api = await startKubeApi({ rolloutDelayMs: 20 }))
  api.seed(bookinfoObjects({ versions: ['v1', 'v2', 'v3'], router }))

  // Prometheus (when installed) scrapes an exporter that the simulator feeds with the traffic it routes.
  let prometheusUrl: string | undefined
  let fallbackReason = 'disabled by --no-prometheus'
  if (options.prometheus) {
    stack.exporter = await startIstioExporter({ service: SERVICE, namespace: NAMESPACE })
  }
  const simulator = (stack.simulator = await startTrafficSimulator({
    service: SERVICE,
    namespace: NAMESPACE,
    router,
    readRouting: () => readRouting(api),
    backends: {
      v1: { errorRate: 0, latencyMs: [15, 40] },
      v2: { errorRate: 0, latencyMs: [20, 45] },
      // The faulty release: half its answers are 5xx from its very first request.
      v3: { errorRate: 0.5, latencyMs: [30, 90] }
    },
    exporter: stack.exporter
  }))
  const github = (stack.github = await startFakeGitHub({ pulls: [{ number: PR_NUMBER, headSha: SHA }] }))
  if (stack.exporter) {
    try {
      stack.prometheus = await startPrometheus({ targets: [stack.exporter.url], startTimeoutMs: 20_000 })
      prometheusUrl = stack.prometheus.url
    } catch (error) {
      fallbackReason = (error as Error).message.split('\n')[0].slice(0, 160)
    }
  }
  if (signal.aborted) return
  say(
    prometheusUrl
      ? `checks: success-rate from Prometheus ${dim(prometheusUrl)} (template success-rate), smoke (http), canary-pods`
      : yellow(
          `prometheus unavailable (${fallbackReason}): success-rate falls back to an http check of the simulator`
        )
  )
  say(
    dim(
      `cluster ${api.url} · traffic ${simulator.url} (300 req/s, 10% with cookie user=test-user) · GitHub ${github.url}`
    )
  )

  const writeRouting = (name: string) =>
    writeFileSync(
      path.join(options.output, 'routing', `${name}.yaml`),
      routingYaml(routingObjects(api, router), true)
    )

  // Traffic before any release.
  const before = simulator.mark()
  await waitMs(800, signal)
  writeRouting('00-before')
  say(
    `before: ${describeSegment(simulator.segmentsSince(before).at(-1))}` +
      (router === 'RouteRule' ? dim('  (no RouteRule yet: Istio 0.2 balances over every version)') : '')
  )

  const records: RunRecord[] = []
  let runNumber = 0
  const runStage = async (release: Release, total: number): Promise<RunRecord> => {
    const n = ++runNumber
    const mark = simulator.mark()
    const deploymentsBefore = reviewsDeployments(api)
    const rulesBefore =
      router === 'RouteRule' ? routingObjects(api, router).map(rule => rule.metadata.name) : []
    const running = (stack.running = startAction({
      entry: options.entry,
      inputs: {
        plan: planYaml(release.plan),
        kubeconfig: api.kubeconfig(),
        'github-token': 'demo-token',
        'pr-number': String(PR_NUMBER)
      },
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_EVENT_NAME: 'workflow_dispatch',
        GITHUB_SHA: SHA,
        GITHUB_RUN_ID: String(9000 + n),
        GITHUB_SERVER_URL: 'https://github.example',
        GITHUB_ACTOR: 'release-manager'
      }
    }))
    const timeout = setTimeout(() => running.child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    const result = await running.result.finally(() => clearTimeout(timeout))
    stack.running = undefined
    rmSync(result.files.dir, { recursive: true, force: true })
    if (signal.aborted) throw new DemoFailure('interrupted')
    const segment = stageSegment(simulator.segmentsSince(mark))
    const record: RunRecord = { n, revision: release.revision, result, segment }
    records.push(record)

    // Files: report, job summary, action log, routing after the run.
    const stage =
      result.outputs.stage ||
      ((result.report?.ladder ?? []) as { name: string; state: string }[]).find(
        e => e.state === 'rolled-back'
      )?.name ||
      'none'
    const slug = `${String(n).padStart(2, '0')}-${release.revision}-${stage.replace(/[^A-Za-z0-9-]+/g, '')}`
    if (result.report)
      writeFileSync(
        path.join(options.output, 'reports', `${slug}.json`),
        JSON.stringify(result.report, null, 2) + '\n'
      )
    writeFileSync(path.join(options.output, 'summaries', `${slug}.md`), result.summary)
    writeFileSync(path.join(options.output, 'logs', `${slug}.log`), result.stdout + result.stderr)
    writeRouting(slug)

    // Console: stage, observed split, checks, outcome.
    const status = result.outputs.status ?? `exit ${result.exitCode}`
    const paintStatus =
      status === 'rolled-back'
        ? (t: string) => red(bold(t))
        : status === 'completed'
          ? (t: string) => green(bold(t))
          : green
    const ladder = (result.report?.ladder ?? []) as { index: number; name: string; state: string }[]
    const shown = ladder.find(entry => entry.state === 'rolled-back') ?? {
      index: Number(result.outputs['stage-index'] ?? 0),
      name: result.outputs.stage || '-'
    }
    say(
      `${bold(release.revision)} ${shown.index}/${total} ${bold(shown.name.padEnd(9))} ${paintStatus(status.padEnd(11))} ` +
        `${describeSegment(segment)} ${dim(seconds(result.durationMs))}`
    )
    say(`     checks: ${describeChecks(result.report)}`)
    const rollback = result.report?.rollback as { reason?: string } | undefined
    if (rollback?.reason) say(`     ${red('rollback:')} ${rollback.reason}`)
    const removed = deploymentsBefore.filter(name => !reviewsDeployments(api).includes(name))
    if (router === 'RouteRule') {
      const rules = routingObjects(api, router)
      const names = rules.map(rule => rule.metadata.name)
      const deleted = rulesBefore.filter(name => !names.includes(name)).map(name => `RouteRule ${name}`)
      for (const rule of rules) {
        const text = compactYaml({ ...cleanObject(rule, false), metadata: { name: rule.metadata.name } })
        say(dim(text.replace(/^/gm, '       ').trimEnd()))
        say(dim('       ---'))
      }
      if (deleted.length + removed.length > 0)
        say(`     deleted: ${[...deleted, ...removed.map(name => `Deployment ${name}`)].join(', ')}`)
    } else if (removed.length > 0)
      say(`     deleted: ${removed.map(name => `Deployment ${name}`).join(', ')}`)
    if (result.exitCode !== 0 && status !== 'rolled-back') {
      const errors = result.annotations.filter(annotation => annotation.kind === 'error')
      say(
        red(
          `     the action failed: ${errors.map(error => error.message).join('; ') || result.stderr.trim()}`
        )
      )
    }
    return record
  }

  const planFor = (revision: string, stable: string, testUser: boolean): Release => {
    const plan = demoPlan({
      router,
      stable,
      canary: revision,
      testUser,
      // The faulty release is watched longer: its failure must be seen even if Prometheus is slow to scrape.
      bakeSeconds: testUser ? 3 : 6,
      prometheusUrl,
      simulatorUrl: simulator.url
    })
    writeFileSync(path.join(options.output, 'plans', `${revision}.yaml`), planYaml(plan))
    return { revision, stable, plan }
  }
  const stageCount = (release: Release) => (release.plan.stages as unknown[]).length
  const latestComment = () =>
    github.comments.filter(comment => comment.issueNumber === PR_NUMBER).at(-1)?.body

  // Act 1: v2, one run per stage, each run like a workflow run a reviewer approved.
  say()
  const v2 = planFor('v2', 'v1', true)
  say(bold(`release v2 (stable v1): ${(v2.plan.stages as unknown[]).length} stages, one action run each`))
  let v2Done = false
  for (let i = 0; i < stageCount(v2) && !signal.aborted; i++) {
    const { result } = await runStage(v2, stageCount(v2))
    if (result.exitCode !== 0 || !['advanced', 'completed'].includes(result.outputs.status ?? ''))
      throw new DemoFailure(
        `v2 stage ${i + 1} ended ${result.outputs.status ?? `with exit ${result.exitCode}`}`
      )
    if (result.outputs.status === 'completed') {
      v2Done = true
      break
    }
  }
  if (!v2Done) throw new DemoFailure('v2 did not complete')
  const v2Comment = latestComment()
  if (v2Comment) writeFileSync(path.join(options.output, 'pr-comment-v2.md'), v2Comment)
  const afterV2 = configuredSplit(api, router)
  if (afterV2.v2 !== 100 || reviewsDeployments(api).includes(`${SERVICE}-v1`))
    throw new DemoFailure(`after v2 completed the routing is ${JSON.stringify(afterV2)}`)

  // Act 2: a faulty v3 (half its requests fail) goes straight to its first weighted stage and is caught there.
  say()
  const v3 = planFor('v3', 'v2', false)
  say(
    bold(
      `release v3 (stable v2), faulty: 50% of its responses are 5xx; its plan starts at the first weighted stage`
    )
  )
  const { result: v3Result } = await runStage(v3, stageCount(v3))
  if (v3Result.outputs.status !== 'rolled-back' || v3Result.exitCode === 0)
    throw new DemoFailure(`v3 was not rolled back: ${v3Result.outputs.status ?? `exit ${v3Result.exitCode}`}`)
  const restored = simulator.mark()
  await waitMs(600, signal)
  const afterRollback = simulator.segmentsSince(restored).at(-1)
  say(`     after the rollback: ${describeSegment(afterRollback)}`)
  const split = configuredSplit(api, router)
  if (split.v2 !== 100 || (split.v3 ?? 0) !== 0)
    throw new DemoFailure(`after the rollback the routing is ${JSON.stringify(split)}`)
  const v3Traffic = afterRollback
    ? [afterRollback.users.v3?.requests ?? 0, afterRollback.testUser.v3?.requests ?? 0]
    : [1]
  if (v3Traffic.some(requests => requests > 0))
    throw new DemoFailure('v3 still receives traffic after the rollback')

  // Files: the PR comment(s) and job summaries the action rendered, statuses, the final routing.
  const comments = github.comments.filter(comment => comment.issueNumber === PR_NUMBER)
  writeFileSync(
    path.join(options.output, 'pr-comment.md'),
    comments.map(comment => comment.body).join('\n\n---\n\n') + '\n'
  )
  writeFileSync(
    path.join(options.output, 'job-summary.md'),
    records.map(record => record.result.summary.trim()).join('\n\n---\n\n') + '\n'
  )
  writeFileSync(
    path.join(options.output, 'commit-statuses.json'),
    JSON.stringify(github.statuses, null, 2) + '\n'
  )
  writeFileSync(
    path.join(options.output, 'routing-final.yaml'),
    routingYaml(routingObjects(api, router), true)
  )
  if (comments.length === 0) throw new DemoFailure('the action posted no PR comment')

  say()
  const v2Runs = records.filter(record => record.revision === 'v2')
  say(
    green(bold('✔ ')) +
      `v2 completed in ${v2Runs.length} runs; v3 rolled back at its first stage ` +
      `(${seconds(v3Result.durationMs)} run); ${comments.length} PR comment(s), ${github.statuses.length} commit statuses`
  )
  say(
    `  output: ${rel(options.output)}/ (pr-comment.md, job-summary.md, reports/, routing/, routing-final.yaml)`
  )
  say(dim(`  demo took ${seconds(Date.now() - started)}`))
}

async function stopAll(stack: Stack): Promise<void> {
  const running = stack.running
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    // The action applies onCancel (rollback) on SIGINT; give it a moment, then make sure it is gone.
    running.child.kill('SIGINT')
    const exited = await Promise.race([
      running.result.then(() => true),
      new Promise<boolean>(resolve => setTimeout(() => resolve(false), 10_000))
    ])
    if (!exited) running.child.kill('SIGKILL')
  }
  await stack.simulator?.close().catch(() => {})
  await stack.prometheus?.close().catch(() => {})
  await stack.exporter?.close().catch(() => {})
  await stack.github?.close().catch(() => {})
  await stack.api?.close().catch(() => {})
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2))
  const stack: Stack = {}
  const controller = new AbortController()
  let interrupted = false
  const onSignal = () => {
    if (interrupted) return
    interrupted = true
    say(yellow('\ninterrupted: stopping everything the demo started'))
    controller.abort()
    // A terminal's Ctrl-C reaches the action too; a signal sent to the demo alone is passed on.
    setTimeout(() => {
      const child = stack.running?.child
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
    }, 1000).unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let code = 0
  try {
    await runDemo(options, stack, controller.signal)
  } catch (error) {
    if (!interrupted) {
      say(
        red(
          `✘ the demo did not go as expected: ${error instanceof DemoFailure ? error.message : String(error)}`
        )
      )
      if (!(error instanceof DemoFailure) && error instanceof Error && error.stack) say(dim(error.stack))
      code = 1
    }
  } finally {
    await stopAll(stack)
  }
  return interrupted ? 130 : code
}

main().then(
  code => process.exit(code),
  error => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
