/**
 * Writes a run's report to GitHub: the sticky PR comment, the commit status and the job summary.
 * Every failure becomes a warning; publishing never changes a rollout's outcome.
 */
import { appendFile } from 'node:fs/promises'
import { renderReport, reportMarker } from '../report/render-markdown.js'
import type { RunReport } from '../report/types.js'
import {
  createGitHubClient,
  describeGitHubError,
  truncateDescription,
  type CommitState,
  type GitHubClient,
  type PullRequestRef
} from './github-client.js'

export type ReportKind = 'comment' | 'status' | 'summary'

export interface PublishOptions {
  token: string
  kinds: Set<ReportKind>
  /** The `pr-number` input; overrides the PR found from the event. */
  prNumber?: number
  env: NodeJS.ProcessEnv
  /** Where the job summary goes; default: appended to the file named by `GITHUB_STEP_SUMMARY`. */
  summaryWriter?: (markdown: string) => Promise<void>
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

/** The commit status a run should leave, or undefined when it should leave none (dry runs, `status`). */
export function commitStatusFor(report: RunReport): { state: CommitState; description: string } | undefined {
  if (report.command === 'status' || report.dryRun) return undefined
  let state: CommitState
  switch (report.status) {
    case 'rolled-back':
      state = 'failure'
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

export async function publishReports(report: RunReport, options: PublishOptions): Promise<PublishResult> {
  const markdown = renderReport(report, { marker: reportMarker(report.namespace, report.service) })
  const warnings: string[] = []
  const result: PublishResult = { warnings, markdown }

  if (options.kinds.has('summary')) {
    await attempt('write the job summary', options.token, warnings, () => writeJobSummary(markdown, options))
  }

  const status = options.kinds.has('status') ? commitStatusFor(report) : undefined
  if (!options.kinds.has('comment') && !status) return result
  if (!options.token) {
    warnings.push('GitHub: no github-token given; the PR comment and commit status were not written')
    return result
  }

  let client: GitHubClient
  try {
    client = createGitHubClient(options.token, options.env)
  } catch (error) {
    warnings.push(describeGitHubError('set up the GitHub client', error, options.token))
    return result
  }

  const pull: PullRequestRef | undefined = await attempt(
    'find the pull request',
    options.token,
    warnings,
    () => client.findPullRequest(options.prNumber)
  )
  result.prNumber = pull?.number

  if (options.kinds.has('comment') && pull) {
    const comment = await attempt(
      `write the comment on PR #${pull.number}`,
      options.token,
      warnings,
      () => client.upsertStickyComment(pull.number, reportMarker(report.namespace, report.service), markdown),
      'pull-requests: write'
    )
    result.commentUrl = comment?.url
  }

  const sha = pull?.headSha ?? options.env.GITHUB_SHA
  if (status && sha) {
    const targetUrl = report.run.url ?? result.commentUrl
    await attempt(
      `set the commit status on ${sha.slice(0, 7)}`,
      options.token,
      warnings,
      () =>
        client.setCommitStatus(
          sha,
          status.state,
          status.description,
          statusContext(report.service),
          targetUrl
        ),
      'statuses: write'
    )
  }
  return result
}
