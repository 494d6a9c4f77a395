/**
 * The action: one top-level try/catch around the main step and the post step (same bundle; the post step
 * is recognised by a saved state, as actions/checkout does).
 */
import * as core from '@actions/core'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { formatProgress } from './analysis/progress.js'
import { createRelease, type EngineCommand, type Logger, type Release } from './engine/index.js'
import { resolveCommentCommand, postRefusal } from './github/comment-command.js'
import { findReportTarget, publishFailure, publishReports, type ReportTarget } from './github/publish.js'
import { type ActionInputs, getInputs } from './input-helper.js'
import { buildRunReport } from './report/build-report.js'
import type { RunReport } from './report/types.js'
import { runSecrets } from './common/secret-scrubber.js'

const IS_POST = 'isPost'
const WATCHING = 'watching'
const REPORT_TARGET = 'reportTarget'

/** The runner masks whole secrets in the log; a secret cut short by a message is scrubbed here. */
const scrub = (message: string) => runSecrets.scrub(message)
const logger: Logger = {
  info: message => core.info(scrub(message)),
  warning: message => core.warning(scrub(message)),
  debug: message => core.debug(scrub(message)),
  group: (title, body) => core.group(scrub(title), body),
  progress: event => core.info(scrub(formatProgress(event)))
}

export async function run(): Promise<void> {
  try {
    if (core.getState(IS_POST) === 'true') {
      await runPost()
      return
    }
    core.saveState(IS_POST, 'true')
    await runMain()
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error))
    if (err.stack) core.debug(scrub(err.stack))
    core.setFailed(scrub(err.message.split('\n')[0]))
  }
}

function runInfo(env: NodeJS.ProcessEnv): { id?: string; url?: string } {
  const id = env.GITHUB_RUN_ID
  const url =
    id && env.GITHUB_REPOSITORY
      ? `${env.GITHUB_SERVER_URL || 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${id}`
      : undefined
  return { id, url }
}

function openRelease(inputs: ActionInputs, signal: AbortSignal, actor?: string): Release {
  return createRelease({
    plan: inputs.plan,
    revision: inputs.revision,
    dryRun: inputs.dryRun,
    kubeconfig: inputs.kubeconfig,
    context: inputs.context,
    run: runInfo(process.env),
    log: logger,
    signal,
    workspace: inputs.workspace,
    env: process.env,
    actor,
    maskSecret: secret => {
      core.setSecret(secret)
      runSecrets.add(secret)
    },
    onWatch: watching => core.saveState(WATCHING, watching ? JSON.stringify(watching) : '')
  })
}

/** SIGINT/SIGTERM (the runner cancelling the job) abort the watch so onCancel can run before the kill. */
function cancellationSignal(): AbortSignal {
  const controller = new AbortController()
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.once(name, () => {
      core.warning(`received ${name}: stopping the watch (onCancel applies)`)
      controller.abort()
    })
  }
  return controller.signal
}

async function runMain(): Promise<void> {
  const inputs = getInputs()
  runSecrets.add(inputs.githubToken)
  let command: EngineCommand
  let actor: string | undefined
  if (inputs.command === 'comment') {
    const resolution = await resolveCommentCommand(process.env, inputs.githubToken)
    resolution.warnings.forEach(warning => core.warning(warning))
    if (resolution.kind === 'ignored') {
      core.info(`comment ignored: ${resolution.reason}`)
      core.setOutput('status', 'unchanged')
      return
    }
    if (resolution.kind === 'refused') {
      core.warning(`/canary refused: ${resolution.reason}`)
      const warnings = await postRefusal({
        token: inputs.githubToken,
        env: process.env,
        prNumber: resolution.prNumber,
        namespace: inputs.plan.namespace,
        service: inputs.plan.service,
        actor: resolution.actor,
        reason: resolution.reason
      })
      warnings.forEach(warning => core.warning(warning))
      core.setOutput('status', 'unchanged')
      return
    }
    command = resolution.command
    actor = resolution.actor
    inputs.prNumber ??= resolution.prNumber
  } else {
    command = inputs.command
  }
  const release = openRelease(inputs, cancellationSignal(), actor)
  // The PR and the commit to report on are read now, not when the watch is over (see ReportTarget).
  const target = startReporting(inputs)
  let report: RunReport
  try {
    report = buildRunReport(await release.run(command))
  } catch (error) {
    await reportFailure(inputs, error, await target)
    throw error
  }
  // Approvals by comment: say so in the report, so the PR shows how to approve the next stage.
  if (inputs.command === 'comment' && report.approval) report.approval.comment = '/canary advance'
  await finish(inputs, report, await target)
}

/** Looks up where to report, and saves it for the post step; resolves to undefined without GitHub reports. */
async function startReporting(inputs: ActionInputs): Promise<ReportTarget | undefined> {
  if (inputs.report.size === 0) return undefined
  const target = await findReportTarget(reportOptions(inputs))
  core.saveState(REPORT_TARGET, JSON.stringify({ pull: target.pull, sha: target.sha }))
  return target
}

function reportOptions(inputs: ActionInputs, target?: ReportTarget) {
  return {
    token: inputs.githubToken,
    kinds: inputs.report,
    prNumber: inputs.prNumber,
    env: process.env,
    target
  }
}

/** The post step: finishes a stage whose main process was killed mid-watch. */
async function runPost(): Promise<void> {
  const saved = core.getState(WATCHING)
  if (!saved) return
  const watching = JSON.parse(saved) as { revision: string; stageIndex: number }
  core.info(`the main step was stopped while watching stage ${watching.stageIndex} of ${watching.revision}`)
  const inputs = getInputs()
  runSecrets.add(inputs.githubToken)
  const release = openRelease(inputs, new AbortController().signal)
  const report = buildRunReport(await release.finishInterrupted(watching))
  const target = core.getState(REPORT_TARGET)
  await finish(inputs, report, target ? { ...(JSON.parse(target) as ReportTarget), warnings: [] } : undefined)
}

async function finish(inputs: ActionInputs, report: RunReport, target?: ReportTarget): Promise<void> {
  const reportPath = writeReportFile(report)
  core.setOutput('status', report.status)
  core.setOutput('stage', report.stage?.name ?? '')
  core.setOutput('stage-index', String(report.stage?.index ?? 0))
  core.setOutput('weight', String(report.weight.after))
  core.setOutput('next-stage', report.nextStage?.name ?? '')
  core.setOutput('done', String(report.done))
  core.setOutput('report', reportPath)
  if (inputs.report.size > 0) {
    const published = await publishReports(report, reportOptions(inputs, target))
    published.warnings.forEach(warning => core.warning(scrub(warning)))
  }
  const line = scrub(`${report.status}: ${report.message}`)
  // Only checks that failed in this run fail it; a requested, cancelled or concurrent rollback did what was asked.
  if (report.failed) core.setFailed(line)
  else if (report.status === 'rolled-back') core.warning(line)
  else core.info(line)
}

/** A run that stopped without a report (drift, a precondition, an API error) still says so on the PR. */
async function reportFailure(inputs: ActionInputs, error: unknown, target?: ReportTarget): Promise<void> {
  if (inputs.report.size === 0 || inputs.dryRun) return
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]
  const warnings = await publishFailure(
    {
      namespace: inputs.plan.namespace,
      service: inputs.plan.service,
      message,
      runUrl: runInfo(process.env).url
    },
    reportOptions(inputs, target)
  )
  warnings.forEach(warning => core.warning(scrub(warning)))
}

function writeReportFile(report: RunReport): string {
  const directory = process.env.RUNNER_TEMP || os.tmpdir()
  mkdirSync(directory, { recursive: true })
  const file = path.join(
    directory,
    `istio-canary-${report.namespace}-${report.service}-${report.run.id ?? 'local'}-${Date.now()}.json`
  )
  writeFileSync(file, JSON.stringify(runSecrets.scrubDeep(report), null, 2) + '\n')
  return file
}
