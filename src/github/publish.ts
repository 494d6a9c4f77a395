/**
 * Writes a run's report to GitHub: the sticky PR comment, the commit status and the job summary.
 * Every failure becomes a warning; publishing never changes a rollout's outcome. Everything published is
 * scrubbed of the run's secrets first (see secret-scrubber).
 */
import { appendFile } from 'node:fs/promises'
import { COMMANDS } from '../engine/commands.js'
import { codeSpan, escapeMarkdown } from '../report/markdown.js'
import { renderReport, reportMarker, withNotice } from '../report/render-markdown.js'
import type { RunReport } from '../report/types.js'
import { runSecrets, scrubSecrets } from '../common/secret-scrubber.js'
import {
  createGitHubClient,
  describeGitHubError,
  truncateDescription,
  type CommitState,
  type GitHubClient,
  type PullRequestRef
} from './github-client.js'

export const REPORT_KINDS = ['comment', 'status', 'summary'] as const
export type ReportKind = (typeof REPORT_KINDS)[number]

export interface PublishOptions {
  token: string
  kinds: Set<ReportKind>
  /** The `pr-number` input; overrides the PR found from the event. */
  prNumber?: number
  env: NodeJS.ProcessEnv
  /** Where the job summary goes; default: appended to the file named by `GITHUB_STEP_SUMMARY`. */
  summaryWriter?: (markdown: string) => Promise<void>
  /** The PR and commit found when the run started (`findReportTarget`); default: found when publishing. */
  target?: ReportTarget
}

/**
 * Where a run reports: the PR and the commit that gets the status, as they were when the run started. A
 * push to the PR during a run (after a maintainer's `/canary advance`, say) must not get the status of a
 * stage nobody approved for it.
 */
export interface ReportTarget {
  pull?: PullRequestRef
  /** The commit that gets the status: the PR's recorded commit, else the run's `GITHUB_SHA`. */
  sha?: string
  warnings: string[]
}

export interface PublishResult {
  warnings: string[]
  prNumber?: number
  commentUrl?: string
  markdown: string
}

export function statusContext(service: string): string {
  return `canary/${service}`
}

/** Text on its way to GitHub, without the run's secrets or the token, whole or cut short. */
function scrub(text: string, token: string): string {
  return runSecrets.scrub(scrubSecrets(text, token ? [token] : []))
}

/** The commit status a run should leave, or undefined when it should leave none (dry runs, `status`). */
export function commitStatusFor(report: RunReport): { state: CommitState; description: string } | undefined {
  if (!COMMANDS[report.command].writes || report.dryRun) return undefined
  let state: CommitState
  switch (report.status) {
    case 'rolled-back':
      state = 'failure'
      break
    case 'inconclusive':
      state = 'pending'
      break
    case 'advanced':
    case 'completed':
    case 'healthy':
    case 'unchanged':
      // A stage still being watched is not a success yet.
      state = report.ladder.some(entry => entry.state === 'current') ? 'pending' : 'success'
      break
    default:
      return undefined
  }
  const stage = report.stage ? ` at ${report.stage.name}` : ''
  const description = `${report.status}${stage}: ${report.message}`
  return { state, description: truncateDescription(description) }
}

async function writeJobSummary(markdown: string, options: PublishOptions): Promise<void> {
  if (options.summaryWriter) return options.summaryWriter(markdown)
  // Outside a workflow (the local CLI) there is no summary file to write. `core.summary` is not used because
  // it reads `process.env` once and caches the path; the file format is the same (appended Markdown).
  const path = options.env.GITHUB_STEP_SUMMARY
  if (!path) return
  await appendFile(path, `${markdown}\n`, 'utf8')
}

/** Runs one GitHub step, turning its failure into a warning. */
async function attempt<T>(
  action: string,
  token: string,
  warnings: string[],
  step: () => Promise<T>,
  neededPermission?: string
): Promise<T | undefined> {
  try {
    return await step()
  } catch (error) {
    warnings.push(describeGitHubError(action, error, token, neededPermission))
    return undefined
  }
}

/**
 * Finds the PR and the commit to report on. The action calls this when the run starts, before anything is
 * watched; never throws.
 */
export async function findReportTarget(options: PublishOptions): Promise<ReportTarget> {
  const warnings: string[] = []
  const sha = options.env.GITHUB_SHA
  if (!options.token || !(options.kinds.has('comment') || options.kinds.has('status')))
    return { sha, warnings }
  let client: GitHubClient
  try {
    client = createGitHubClient(options.token, options.env)
  } catch (error) {
    warnings.push(describeGitHubError('set up the GitHub client', error, options.token))
    return { sha, warnings }
  }
  const pull = await attempt('find the pull request', options.token, warnings, () =>
    client.findPullRequest(options.prNumber)
  )
  return { pull, sha: pull?.headSha ?? sha, warnings }
}

/** Writes the sticky comment (the body, or a function of the existing body) and the commit status. */
async function writeCommentAndStatus(
  target: { namespace: string; service: string; runUrl?: string },
  comment: string | ((existing: string | undefined) => string) | undefined,
  status: { state: CommitState; description: string } | undefined,
  options: PublishOptions,
  warnings: string[]
): Promise<{ prNumber?: number; commentUrl?: string }> {
  if (!comment && !status) return {}
  if (!options.token) {
    warnings.push('GitHub: no github-token given; the PR comment and commit status were not written')
    return {}
  }
  const found = options.target ?? (await findReportTarget(options))
  warnings.push(...found.warnings)
  let client: GitHubClient
  try {
    client = createGitHubClient(options.token, options.env)
  } catch (error) {
    warnings.push(describeGitHubError('set up the GitHub client', error, options.token))
    return {}
  }
  const { pull, sha } = found
  let commentUrl: string | undefined
  if (comment && pull) {
    const written = await attempt(
      `write the comment on PR #${pull.number}`,
      options.token,
      warnings,
      () => client.upsertStickyComment(pull.number, reportMarker(target.namespace, target.service), comment),
      'pull-requests: write'
    )
    commentUrl = written?.url
  }
  if (status && sha) {
    await attempt(
      `set the commit status on ${sha.slice(0, 7)}`,
      options.token,
      warnings,
      () =>
        client.setCommitStatus(
          sha,
          status.state,
          scrub(status.description, options.token),
          statusContext(target.service),
          target.runUrl ?? commentUrl
        ),
      'statuses: write'
    )
  }
  return { prNumber: pull?.number, commentUrl }
}

export async function publishReports(report: RunReport, options: PublishOptions): Promise<PublishResult> {
  const markdown = scrub(
    renderReport(report, { marker: reportMarker(report.namespace, report.service) }),
    options.token
  )
  const warnings: string[] = []
  if (options.kinds.has('summary')) {
    await attempt('write the job summary', options.token, warnings, () => writeJobSummary(markdown, options))
  }
  const status = options.kinds.has('status') ? commitStatusFor(report) : undefined
  const written = await writeCommentAndStatus(
    { namespace: report.namespace, service: report.service, runUrl: report.run.url },
    options.kinds.has('comment') ? markdown : undefined,
    status,
    options,
    warnings
  )
  return { warnings, markdown, ...written }
}

export interface RunFailure {
  namespace: string
  service: string
  /** One line: what stopped the run and how to fix it. */
  message: string
  runUrl?: string
}

/**
 * Tells the PR that a run stopped before it had a report (drift, a failed precondition, an API error): a notice
 * above the last report in the sticky comment, a failed commit status, and the job summary. Never throws.
 */
export async function publishFailure(failure: RunFailure, options: PublishOptions): Promise<string[]> {
  const warnings: string[] = []
  const marker = reportMarker(failure.namespace, failure.service)
  const message = scrub(failure.message, options.token)
  const notice = `The last run failed: ${escapeMarkdown(message)}`
  if (options.kinds.has('summary')) {
    const summary = withNotice(
      `### ⛔ Canary ${codeSpan(`${failure.namespace}/${failure.service}`)}: failed\n`,
      marker,
      notice
    )
    await attempt('write the job summary', options.token, warnings, () => writeJobSummary(summary, options))
  }
  await writeCommentAndStatus(
    failure,
    options.kinds.has('comment') ? existing => withNotice(existing, marker, notice) : undefined,
    options.kinds.has('status')
      ? { state: 'failure', description: truncateDescription(`failed: ${message}`) }
      : undefined,
    options,
    warnings
  )
  return warnings
}
