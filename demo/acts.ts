/**
 * The story the demo plays on its stack: v2 released through every stage of its plan, one run of the action per
 * stage as one workflow run per approval; then a faulty v3 that the checks catch at its first stage and the action
 * rolls back. Each run's report, job summary, log and the routing after it go to the output folder.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startAction, type ActionResult } from '../testkit/run-action.js'
import {
  cleanObject,
  compactYaml,
  describeChecks,
  describeSegment,
  routingYaml,
  say,
  seconds,
  segmentDetails,
  style
} from './console.js'
import { DemoFailure, type DemoOptions } from './options.js'
import { demoPlan, planYaml, type RouterKind } from './plans.js'
import {
  configuredSplits,
  INGRESS_SHARE,
  PR_NUMBER,
  reviewsDeployments,
  routeAcceptance,
  routingObjects,
  SERVICE,
  SHA,
  type Stack
} from './stack.js'
import type { Segment } from './segments.js'

const REPOSITORY = 'octo-org/bookinfo'
/** Bounds a single action run; a stage bakes for 3s. */
const RUN_TIMEOUT_MS = 60_000
const OUTPUT_FOLDERS = ['reports', 'summaries', 'logs', 'routing', 'plans']

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

/** What the acts share. */
interface Play {
  stack: Stack
  options: DemoOptions
  signal: AbortSignal
  records: RunRecord[]
}

/** Clears what an earlier demo wrote (only that: --output may name a folder with other content). */
export function prepareOutput(output: string): void {
  mkdirSync(output, { recursive: true })
  for (const entry of OUTPUT_FOLDERS) rmSync(path.join(output, entry), { recursive: true, force: true })
  for (const entry of ['pr-comment.md', 'job-summary.md', 'commit-statuses.json', 'routing-final.yaml'])
    rmSync(path.join(output, entry), { force: true })
  for (const entry of OUTPUT_FOLDERS) mkdirSync(path.join(output, entry), { recursive: true })
}

export async function playActs(stack: Stack, options: DemoOptions, signal: AbortSignal): Promise<void> {
  const play: Play = { stack, options, signal, records: [] }
  await prologue(play)
  await releaseV2(play)
  const v3 = await releaseFaultyV3(play)
  epilogue(play, v3)
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

function writeRouting(play: Play, name: string): void {
  writeFileSync(
    path.join(play.options.output, 'routing', `${name}.yaml`),
    routingYaml(routingObjects(play.stack.api, play.options.router), true)
  )
}

/** What the checks read and where everything runs; then the traffic before any release. */
async function prologue(play: Play): Promise<void> {
  const { api, simulator, github, prometheus, prometheusUnavailable } = play.stack
  if (prometheus) {
    say(
      `checks: success-rate from Prometheus ${style.dim(prometheus.url)} (template success-rate), smoke (http), canary-pods`
    )
  } else {
    // The whole reason, however long: it is what the user has to act on.
    say(style.yellow('no Prometheus: success-rate falls back to an http check of the simulator, because'))
    say(style.yellow(prometheusUnavailable!.replace(/^/gm, '  ')))
  }
  const ingress =
    play.options.router === 'VirtualService'
      ? `, ${Math.round(100 * INGRESS_SHARE)}% of them through the ingress gateway`
      : ''
  say(
    style.dim(
      `cluster ${api.url} · traffic ${simulator.url} (300 req/s from 1000 users, 10% with cookie user=test-user${ingress}) · GitHub ${github.url}`
    )
  )
  const before = simulator.mark()
  await waitMs(800, play.signal)
  writeRouting(play, '00-before')
  const segment = simulator.segmentsSince(before).at(-1)
  say(`before: ${describeSegment(segment)}${style.dim(UNPINNED_NOTES[play.options.router])}`)
  for (const line of segmentDetails(segment)) say(`     ${line}`)
}

/** Why traffic spreads over every version before the first release pins it. */
const UNPINNED_NOTES: Record<RouterKind, string> = {
  VirtualService: '',
  RouteRule: '  (no RouteRule yet: Istio 0.2 balances over every version)',
  HTTPRoute: "  (the route's backendRef is the reviews Service, which selects every version's pods)"
}

/**
 * The traffic of the routing a run left in effect (an advance) or was watching when it reverted (a rollback): of
 * the segments whose routing differs from the one before the run, the longest (a write to several objects passes
 * through short intermediate states); the last segment when nothing changed.
 */
function stageSegment(segments: Segment[]): Segment | undefined {
  const before = segments[0]?.routing
  const duration = (segment: Segment) => (segment.endedAt ?? Date.now()) - segment.startedAt
  const changed = segments.filter(segment => segment.routing !== before)
  if (changed.length === 0) return segments.at(-1)
  return changed.reduce((longest, segment) => (duration(segment) > duration(longest) ? segment : longest))
}

function planFor(play: Play, revision: string, stable: string, preview: boolean): Release {
  const plan = demoPlan({
    router: play.options.router,
    stable,
    canary: revision,
    preview,
    // The faulty release is watched longer: its failure must be seen even if Prometheus is slow to scrape.
    bakeSeconds: preview ? 3 : 6,
    prometheusUrl: play.stack.prometheus?.url,
    simulatorUrl: play.stack.simulator.url
  })
  writeFileSync(path.join(play.options.output, 'plans', `${revision}.yaml`), planYaml(plan))
  return { revision, stable, plan }
}

const stageCount = (release: Release) => (release.plan.stages as unknown[]).length

/** One run of the action, as one workflow run a reviewer approved; its files written and its outcome printed. */
async function runStage(play: Play, release: Release): Promise<RunRecord> {
  const { stack, signal } = play
  const n = play.records.length + 1
  const mark = stack.simulator.mark()
  const before = { deployments: reviewsDeployments(stack.api), rules: routeRuleNames(play) }
  const running = (stack.running = startAction({
    entry: play.options.entry,
    inputs: {
      plan: planYaml(release.plan),
      kubeconfig: stack.api.kubeconfig(),
      'github-token': 'demo-token',
      'pr-number': String(PR_NUMBER)
    },
    env: {
      GITHUB_API_URL: stack.github.url,
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
  const record: RunRecord = {
    n,
    revision: release.revision,
    result,
    segment: stageSegment(stack.simulator.segmentsSince(mark))
  }
  play.records.push(record)
  saveRun(play, record)
  printRun(play, record, stageCount(release), before)
  return record
}

function routeRuleNames(play: Play): string[] {
  return play.options.router === 'RouteRule'
    ? routingObjects(play.stack.api, 'RouteRule').map(rule => rule.metadata.name)
    : []
}

/** The run's report, job summary and log, and the routing after it. */
function saveRun(play: Play, { n, revision, result }: RunRecord): void {
  const stage =
    result.outputs.stage ||
    ((result.report?.ladder ?? []) as { name: string; state: string }[]).find(e => e.state === 'rolled-back')
      ?.name ||
    'none'
  const slug = `${String(n).padStart(2, '0')}-${revision}-${stage.replace(/[^A-Za-z0-9-]+/g, '')}`
  const output = play.options.output
  if (result.report)
    writeFileSync(path.join(output, 'reports', `${slug}.json`), JSON.stringify(result.report, null, 2) + '\n')
  writeFileSync(path.join(output, 'summaries', `${slug}.md`), result.summary)
  writeFileSync(path.join(output, 'logs', `${slug}.log`), result.stdout + result.stderr)
  writeRouting(play, slug)
}

/** Stage, observed split, checks and outcome; what the run deleted; RouteRules as YAML. */
function printRun(
  play: Play,
  { revision, result, segment }: RunRecord,
  total: number,
  before: { deployments: string[]; rules: string[] }
): void {
  const { api } = play.stack
  const status = result.outputs.status ?? `exit ${result.exitCode}`
  const paintStatus =
    status === 'rolled-back'
      ? (t: string) => style.red(style.bold(t))
      : status === 'completed'
        ? (t: string) => style.green(style.bold(t))
        : style.green
  const ladder = (result.report?.ladder ?? []) as { index: number; name: string; state: string }[]
  const shown = ladder.find(entry => entry.state === 'rolled-back') ?? {
    index: Number(result.outputs['stage-index'] ?? 0),
    name: result.outputs.stage || '-'
  }
  say(
    `${style.bold(revision)} ${shown.index}/${total} ${style.bold(shown.name.padEnd(9))} ${paintStatus(status.padEnd(11))} ` +
      `${describeSegment(segment)} ${style.dim(seconds(result.durationMs))}`
  )
  for (const line of segmentDetails(segment)) say(`     ${line}`)
  if (play.options.router === 'HTTPRoute') {
    const acceptance = routeAcceptance(api)
    if (acceptance) say(style.dim(`     controller: ${acceptance}`))
  }
  say(`     checks: ${describeChecks(result.report)}`)
  const rollback = result.report?.rollback as { reason?: string } | undefined
  if (rollback?.reason) say(`     ${style.red('rollback:')} ${rollback.reason}`)
  const removed = before.deployments.filter(name => !reviewsDeployments(api).includes(name))
  if (play.options.router === 'RouteRule') {
    const rules = routingObjects(api, 'RouteRule')
    const names = rules.map(rule => rule.metadata.name)
    const deleted = before.rules.filter(name => !names.includes(name)).map(name => `RouteRule ${name}`)
    for (const rule of rules) {
      const text = compactYaml({ ...cleanObject(rule, false), metadata: { name: rule.metadata.name } })
      say(style.dim(text.replace(/^/gm, '       ').trimEnd()))
      say(style.dim('       ---'))
    }
    if (deleted.length + removed.length > 0)
      say(`     deleted: ${[...deleted, ...removed.map(name => `Deployment ${name}`)].join(', ')}`)
  } else if (removed.length > 0) say(`     deleted: ${removed.map(name => `Deployment ${name}`).join(', ')}`)
  if (result.exitCode !== 0 && status !== 'rolled-back') {
    const errors = result.annotations.filter(annotation => annotation.kind === 'error')
    say(
      style.red(
        `     the action failed: ${errors.map(error => error.message).join('; ') || result.stderr.trim()}`
      )
    )
  }
}

function prComments(play: Play) {
  return play.stack.github.comments.filter(comment => comment.issueNumber === PR_NUMBER)
}

/** Act 1: v2, one run per stage, each run like a workflow run a reviewer approved. */
async function releaseV2(play: Play): Promise<void> {
  say()
  const v2 = planFor(play, 'v2', 'v1', true)
  say(style.bold(`release v2 (stable v1): ${stageCount(v2)} stages, one action run each`))
  let done = false
  for (let i = 0; i < stageCount(v2) && !play.signal.aborted && !done; i++) {
    const { result } = await runStage(play, v2)
    if (result.exitCode !== 0 || !['advanced', 'completed'].includes(result.outputs.status ?? ''))
      throw new DemoFailure(
        `v2 stage ${i + 1} ended ${result.outputs.status ?? `with exit ${result.exitCode}`}`
      )
    done = result.outputs.status === 'completed'
  }
  if (!done) throw new DemoFailure('v2 did not complete')
  const comment = prComments(play).at(-1)?.body
  if (comment) writeFileSync(path.join(play.options.output, 'pr-comment-v2.md'), comment)
  const wrong = notAllOn(play, 'v2')
  if (wrong || reviewsDeployments(play.stack.api).includes(`${SERVICE}-v1`))
    throw new DemoFailure(
      `after v2 completed the routing is ${wrong ?? 'all v2, but reviews-v1 is still deployed'}`
    )
}

/** The configured splits, when some shifted route does not send all its traffic to `version`. */
function notAllOn(play: Play, version: string): string | undefined {
  const splits = configuredSplits(play.stack.api, play.options.router)
  const wrong = Object.entries(splits).filter(([, split]) => split[version] !== 100)
  return wrong.length > 0 ? JSON.stringify(Object.fromEntries(wrong)) : undefined
}

/** Act 2: a faulty v3 (half its requests fail) goes straight to its first weighted stage and is caught there. */
async function releaseFaultyV3(play: Play): Promise<ActionResult> {
  const { simulator } = play.stack
  say()
  const v3 = planFor(play, 'v3', 'v2', false)
  say(
    style.bold(
      `release v3 (stable v2), faulty: 50% of its responses are 5xx; its plan starts at the first weighted stage`
    )
  )
  const { result } = await runStage(play, v3)
  if (result.outputs.status !== 'rolled-back' || result.exitCode === 0)
    throw new DemoFailure(`v3 was not rolled back: ${result.outputs.status ?? `exit ${result.exitCode}`}`)
  const restored = simulator.mark()
  await waitMs(600, play.signal)
  const afterRollback = simulator.segmentsSince(restored).at(-1)
  say(`     after the rollback: ${describeSegment(afterRollback)}`)
  for (const line of segmentDetails(afterRollback)) say(`     ${line}`)
  const wrong = notAllOn(play, 'v2')
  if (wrong) throw new DemoFailure(`after the rollback the routing is ${wrong}`)
  if (!afterRollback || reaches(afterRollback, 'v3'))
    throw new DemoFailure('v3 still receives traffic after the rollback')
  return result
}

/** Whether any request, or a mirror's copy of one, reached the version during the segment. */
function reaches(segment: Segment, version: string): boolean {
  const served = Object.values(segment.entries).some(
    traffic => (traffic.users[version]?.requests ?? 0) + (traffic.testUser[version]?.requests ?? 0) > 0
  )
  return served || (segment.mirrored.copies[version]?.requests ?? 0) > 0
}

/** The PR comment(s) and job summaries the action rendered, the statuses, the final routing; then the tally. */
function epilogue(play: Play, v3: ActionResult): void {
  const { github, api } = play.stack
  const output = play.options.output
  const comments = prComments(play)
  writeFileSync(
    path.join(output, 'pr-comment.md'),
    comments.map(comment => comment.body).join('\n\n---\n\n') + '\n'
  )
  writeFileSync(
    path.join(output, 'job-summary.md'),
    play.records.map(record => record.result.summary.trim()).join('\n\n---\n\n') + '\n'
  )
  writeFileSync(path.join(output, 'commit-statuses.json'), JSON.stringify(github.statuses, null, 2) + '\n')
  writeFileSync(
    path.join(output, 'routing-final.yaml'),
    routingYaml(routingObjects(api, play.options.router), true)
  )
  if (comments.length === 0) throw new DemoFailure('the action posted no PR comment')

  say()
  const v2Runs = play.records.filter(record => record.revision === 'v2')
  say(
    style.green(style.bold('✔ ')) +
      `v2 completed in ${v2Runs.length} runs; v3 rolled back at its first stage ` +
      `(${seconds(v3.durationMs)} run); ${comments.length} PR comment(s), ${github.statuses.length} commit statuses`
  )
  const rel = path.relative(process.cwd(), output) || '.'
  say(`  output: ${rel}/ (pr-comment.md, job-summary.md, reports/, routing/, routing-final.yaml)`)
}
