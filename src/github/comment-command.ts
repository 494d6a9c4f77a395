/**
 * `/canary <command>` PR comments: parse the command, check the commenter may run it, acknowledge it.
 */
import { COMMANDS, ENGINE_COMMANDS, type EngineCommand } from '../engine/commands.js'
import { codeSpan, escapeMarkdown } from '../report/markdown.js'
import { reportMarker, withNotice } from '../report/render-markdown.js'
import {
  createGitHubClient,
  describeGitHubError,
  readEventPayload,
  type GitHubClient,
  type RepositoryPermission
} from './github-client.js'

/** The commands a `/canary` comment may give. */
export const CANARY_COMMANDS: readonly EngineCommand[] = ENGINE_COMMANDS.filter(
  command => COMMANDS[command].viaComment
)
export type CanaryCommand = EngineCommand

/**
 * The command in a comment: the first line starting with `/canary` decides; text after the command word is
 * ignored. Undefined for an ordinary comment.
 */
export function parseCanaryCommand(body: string): CanaryCommand | { unknown: string } | undefined {
  for (const line of body.split(/\r?\n/)) {
    const match = /^\s*\/canary(?:\s+(\S+))?(?:\s.*)?$/i.exec(line)
    if (!match) continue
    const word = (match[1] ?? '').toLowerCase()
    return (CANARY_COMMANDS as readonly string[]).includes(word)
      ? (word as CanaryCommand)
      : { unknown: match[1] ?? '' }
  }
  return undefined
}

/**
 * A word a commenter wrote is repeated only when it looks like a command (a short word of letters, digits
 * and dashes): anything else could carry Markdown, links or mentions into the action's own comment.
 */
const ECHOABLE_WORD = /^[A-Za-z][A-Za-z0-9-]{0,31}$/

function describeUnknownWord(word: string): string {
  if (word === '') return 'no command given'
  return ECHOABLE_WORD.test(word) ? `unknown command '${word}'` : 'unknown command'
}

const ALLOWED_ROLES = new Set(['admin', 'maintain', 'write'])

/** Write access or more. Custom roles are judged by the base permission GitHub reports for them. */
export function isPermissionAllowed(permission: RepositoryPermission): boolean {
  return ALLOWED_ROLES.has(permission.permission) || ALLOWED_ROLES.has(permission.roleName ?? '')
}

export interface IssueCommentEvent {
  action: string
  commentId: number
  body: string
  user: string
  userType: string
  issueNumber: number
  isPullRequest: boolean
}

/** The `issue_comment` event of this run, or undefined when the run was triggered by something else. */
export function readIssueCommentEvent(env: NodeJS.ProcessEnv): IssueCommentEvent | undefined {
  if (env.GITHUB_EVENT_NAME !== 'issue_comment') return undefined
  const payload = readEventPayload(env) as {
    action?: string
    comment?: { id?: number; body?: string; user?: { login?: string; type?: string } }
    issue?: { number?: number; pull_request?: unknown }
  }
  if (!payload.comment?.id || !payload.issue?.number) return undefined
  return {
    action: payload.action ?? '',
    commentId: payload.comment.id,
    body: payload.comment.body ?? '',
    user: payload.comment.user?.login ?? '',
    userType: payload.comment.user?.type ?? '',
    issueNumber: payload.issue.number,
    isPullRequest: Boolean(payload.issue.pull_request)
  }
}

export type CommentCommandResolution =
  | {
      kind: 'run'
      command: CanaryCommand
      actor: string
      commentId: number
      prNumber: number
      warnings: string[]
    }
  | { kind: 'ignored'; reason: string; warnings: string[] }
  | {
      kind: 'refused'
      reason: string
      actor: string
      commentId: number
      prNumber: number
      warnings: string[]
    }

/**
 * Decides what a `/canary` comment asks for and whether its author may ask it. Accepted comments get an
 * "eyes" reaction, refused ones "-1". Never throws for GitHub failures: a permission that cannot be read
 * is a refusal.
 */
export async function resolveCommentCommand(
  env: NodeJS.ProcessEnv,
  token: string
): Promise<CommentCommandResolution> {
  const warnings: string[] = []
  const event = readIssueCommentEvent(env)
  if (!event) {
    return {
      kind: 'ignored',
      reason: `not an issue_comment event (${env.GITHUB_EVENT_NAME || 'none'})`,
      warnings
    }
  }
  if (event.action !== 'created')
    return { kind: 'ignored', reason: `comment ${event.action}, not created`, warnings }
  if (!event.isPullRequest)
    return { kind: 'ignored', reason: 'the comment is not on a pull request', warnings }
  if (event.userType === 'Bot') return { kind: 'ignored', reason: 'comments by bots are ignored', warnings }
  const parsed = parseCanaryCommand(event.body)
  if (parsed === undefined) return { kind: 'ignored', reason: 'not a /canary command', warnings }

  const who = { actor: event.user, commentId: event.commentId, prNumber: event.issueNumber }
  let client: GitHubClient | undefined
  if (token) {
    try {
      client = createGitHubClient(token, env)
    } catch (error) {
      warnings.push(describeGitHubError('set up the GitHub client', error, token))
    }
  }
  const react = async (content: 'eyes' | '-1') => {
    if (!client) return
    try {
      await client.addReaction(event.commentId, content)
    } catch (error) {
      warnings.push(
        describeGitHubError(`react to comment ${event.commentId}`, error, token, 'pull-requests: write')
      )
    }
  }
  const refuse = async (reason: string): Promise<CommentCommandResolution> => {
    await react('-1')
    return { kind: 'refused', reason, ...who, warnings }
  }

  if (typeof parsed !== 'string') {
    return refuse(`${describeUnknownWord(parsed.unknown)}: use /canary ${CANARY_COMMANDS.join('|')}`)
  }
  if (!client) return refuse(`cannot check @${event.user}'s permission without a github-token`)
  let permission: RepositoryPermission
  try {
    permission = await client.getPermission(event.user)
  } catch (error) {
    warnings.push(describeGitHubError(`read @${event.user}'s permission`, error, token))
    return refuse(`could not check @${event.user}'s permission on this repository`)
  }
  if (!isPermissionAllowed(permission)) {
    const level = permission.roleName ?? permission.permission
    return refuse(`@${event.user} has ${level} permission; /canary ${parsed} needs write or higher`)
  }
  await react('eyes')
  return { kind: 'run', command: parsed, ...who, warnings }
}

/**
 * The sticky comment body with a notice that the `/canary` command from `actor` was refused. The reason is
 * plain text, shown as written; the login is shown as code, so the notice mentions nobody.
 */
export function withRefusal(
  existingBody: string | undefined,
  marker: string,
  actor: string,
  reason: string
): string {
  return withNotice(
    existingBody,
    marker,
    `\`/canary\` from ${codeSpan(`@${actor}`)} refused: ${escapeMarkdown(reason)}`
  )
}

export interface RefusalOptions {
  token: string
  env: NodeJS.ProcessEnv
  prNumber: number
  namespace: string
  service: string
  actor: string
  reason: string
}

/** Answers a refused command in the service's sticky comment. Returns warnings; never throws. */
export async function postRefusal(options: RefusalOptions): Promise<string[]> {
  if (!options.token) return ['GitHub: no github-token given; the refusal was not posted']
  const marker = reportMarker(options.namespace, options.service)
  try {
    const client = createGitHubClient(options.token, options.env)
    await client.upsertStickyComment(options.prNumber, marker, existing =>
      withRefusal(existing, marker, options.actor, options.reason)
    )
    return []
  } catch (error) {
    return [
      describeGitHubError(
        `post the refusal on PR #${options.prNumber}`,
        error,
        options.token,
        'pull-requests: write'
      )
    ]
  }
}
