/**
 * The one module that talks to the GitHub REST API. Callers turn its errors into warnings.
 */
import { readFileSync } from 'node:fs'
import * as core from '@actions/core'
import { getOctokit } from '@actions/github'

/** One slow GitHub request must not hold up a rollout report for long. */
const REQUEST_TIMEOUT_MS = 15000

export type CommitState = 'pending' | 'success' | 'failure' | 'error'
export type ReactionContent = '+1' | '-1' | 'eyes'

export interface PullRequestRef {
  number: number
  /**
   * The commit the commit status goes to, read when the PR was found: the head of an open PR, or the run's
   * commit for a PR that is already merged.
   */
  headSha?: string
  /** The PR was merged: found through its merge commit (or head) after the merge. */
  merged?: boolean
}

export interface StickyComment {
  id: number
  url: string
  created: boolean
}

export type CommentBody = string | ((existingBody: string | undefined) => string)

export interface RepositoryPermission {
  /** Base permission: admin | write | read | none (maintain counts as write, triage as read). */
  permission: string
  /** Role name: admin | maintain | write | triage | read, or a custom role's name. */
  roleName?: string
}

export interface GitHubClient {
  owner: string
  repo: string
  findPullRequest(prNumberInput?: number): Promise<PullRequestRef | undefined>
  /** The login comments written with this token appear under; looked up once per run. */
  identity(): Promise<string>
  /**
   * Creates or updates the sticky comment: the first comment on the PR that this token's identity wrote and
   * whose body starts with `marker`. Comments by anyone else are never edited or read back, whatever they
   * contain. `body` may be derived from the existing comment's body (undefined when there is none yet).
   */
  upsertStickyComment(prNumber: number, marker: string, body: CommentBody): Promise<StickyComment>
  setCommitStatus(
    sha: string,
    state: CommitState,
    description: string,
    context: string,
    targetUrl?: string
  ): Promise<void>
  getPermission(user: string): Promise<RepositoryPermission>
  addReaction(commentId: number, content: ReactionContent): Promise<void>
}

/** GitHub allows at most 140 characters in a commit status description. */
export const MAX_STATUS_DESCRIPTION = 140

export function truncateDescription(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length <= MAX_STATUS_DESCRIPTION
    ? oneLine
    : `${oneLine.slice(0, MAX_STATUS_DESCRIPTION - 1)}…`
}

/** The workflow event payload, or an empty object when there is none (local runs). */
export function readEventPayload(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const path = env.GITHUB_EVENT_PATH
  if (!path) return {}
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

export function parseRepository(env: NodeJS.ProcessEnv): { owner: string; repo: string } {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo) throw new Error('GITHUB_REPOSITORY is not set (expected "owner/repo")')
  return { owner, repo }
}

interface PayloadPullRequest {
  number?: number
  head?: { sha?: string }
}

/** Who comments written with the workflow's default `GITHUB_TOKEN` belong to. */
export const ACTIONS_BOT_LOGIN = 'github-actions[bot]'

/** One identity lookup per API and token in a process (a run), shared by every client made with that token. */
const identities = new Map<string, Promise<string>>()

const PULL_REQUEST_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment'
])

export function createGitHubClient(token: string, env: NodeJS.ProcessEnv): GitHubClient {
  const { owner, repo } = parseRepository(env)
  const baseUrl = env.GITHUB_API_URL || 'https://api.github.com'
  const octokit = getOctokit(token, {
    baseUrl,
    // Octokit's own logging would print request details; this module reports failures itself.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
  })
  octokit.hook.wrap('request', (request, options) => {
    options.request = { ...options.request, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }
    return request(options)
  })

  /**
   * A user token (personal access token, OAuth) answers `GET /user`. Installation tokens (the default
   * `GITHUB_TOKEN`, GitHub App tokens) are refused there but answer GraphQL's `viewer` with the app's bot
   * login. When neither answers, the token is taken for the default `GITHUB_TOKEN`: a wrong guess only makes
   * the action write a new comment instead of finding its own, never adopt someone else's.
   */
  async function lookUpIdentity(): Promise<string> {
    try {
      const { data } = await octokit.rest.users.getAuthenticated()
      if (data.login) return data.login
    } catch {
      // Not a user token (or no access): ask GraphQL below.
    }
    try {
      const data = await octokit.graphql<{ viewer?: { login?: string } }>('query { viewer { login } }')
      if (data.viewer?.login) return data.viewer.login
    } catch {
      // Fall through to the default token's identity.
    }
    return ACTIONS_BOT_LOGIN
  }

  function identity(): Promise<string> {
    const key = `${baseUrl}\n${token}`
    let known = identities.get(key)
    if (!known) {
      known = lookUpIdentity()
      identities.set(key, known)
    }
    return known
  }

  async function pullRequestHead(number: number): Promise<PullRequestRef> {
    const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number })
    return { number, headSha: data.head.sha }
  }

  async function findPullRequest(prNumberInput?: number): Promise<PullRequestRef | undefined> {
    if (prNumberInput !== undefined) return pullRequestHead(prNumberInput)
    const eventName = env.GITHUB_EVENT_NAME ?? ''
    const payload = readEventPayload(env)
    if (PULL_REQUEST_EVENTS.has(eventName)) {
      const pull = payload.pull_request as PayloadPullRequest | undefined
      if (pull?.number) return { number: pull.number, headSha: pull.head?.sha }
    }
    if (eventName === 'issue_comment') {
      const issue = payload.issue as { number?: number; pull_request?: unknown } | undefined
      if (issue?.number && issue.pull_request) return pullRequestHead(issue.number)
    }
    const sha = env.GITHUB_SHA
    if (sha) {
      const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({
        owner,
        repo,
        commit_sha: sha
      })
      // A PR still open that contains the commit; else (a push after the merge) the merged PR whose merge
      // commit, or head, is this commit. The status then goes on the commit the run deployed.
      const open = data.find(pull => pull.state === 'open')
      if (open) return { number: open.number, headSha: open.head.sha }
      const merged = data.find(
        pull => Boolean(pull.merged_at) && (pull.merge_commit_sha === sha || pull.head.sha === sha)
      )
      if (merged) return { number: merged.number, headSha: sha, merged: true }
    }
    core.info(
      `No pull request found for this ${eventName || 'run'}${sha ? ` (commit ${sha.slice(0, 7)})` : ''}.`
    )
    return undefined
  }

  async function findStickyComment(
    prNumber: number,
    marker: string
  ): Promise<{ id: number; body: string } | undefined> {
    const self = await identity()
    const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: prNumber,
      per_page: 100
    })
    for await (const page of pages) {
      const found = page.data.find(
        comment => comment.user?.login === self && (comment.body ?? '').startsWith(marker)
      )
      if (found) return { id: found.id, body: found.body ?? '' }
    }
    return undefined
  }

  async function upsertStickyComment(
    prNumber: number,
    marker: string,
    body: CommentBody
  ): Promise<StickyComment> {
    const existing = await findStickyComment(prNumber, marker)
    const text = typeof body === 'string' ? body : body(existing?.body)
    if (existing) {
      const { data } = await octokit.rest.issues.updateComment({
        owner,
        repo,
        comment_id: existing.id,
        body: text
      })
      return { id: data.id, url: data.html_url, created: false }
    }
    const { data } = await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: prNumber,
      body: text
    })
    return { id: data.id, url: data.html_url, created: true }
  }

  async function setCommitStatus(
    sha: string,
    state: CommitState,
    description: string,
    context: string,
    targetUrl?: string
  ): Promise<void> {
    await octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha,
      state,
      context,
      description: truncateDescription(description),
      ...(targetUrl ? { target_url: targetUrl } : {})
    })
  }

  async function getPermission(user: string): Promise<RepositoryPermission> {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: user })
    return { permission: data.permission, roleName: data.role_name }
  }

  async function addReaction(commentId: number, content: ReactionContent): Promise<void> {
    await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content })
  }

  return {
    owner,
    repo,
    findPullRequest,
    identity,
    upsertStickyComment,
    setCommitStatus,
    getPermission,
    addReaction
  }
}

/**
 * One line describing a failed GitHub request, with a hint when a missing workflow permission is the likely
 * cause (GitHub answers 404 as well as 403 for those). The token is
 * scrubbed in case a proxy or server echoed it back.
 */
export function describeGitHubError(
  action: string,
  error: unknown,
  token: string,
  neededPermission?: string
): string {
  const status = (error as { status?: number }).status
  const message = error instanceof Error ? error.message : String(error)
  const cause = (error as { cause?: unknown }).cause
  const causeText = cause instanceof Error && !message.includes(cause.message) ? ` (${cause.message})` : ''
  let hint = ''
  if (neededPermission && (status === 403 || status === 404)) {
    hint = ` — does the workflow grant \`permissions: ${neededPermission}\`?`
  }
  const line = `GitHub: could not ${action}: ${status ? `HTTP ${status} ` : ''}${message}${causeText}${hint}`
  return token ? line.split(token).join('***') : line
}
