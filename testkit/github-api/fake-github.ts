/**
 * A small fake of the GitHub REST API on 127.0.0.1 for tests and the demo: issue comments (paginated, each
 * with its author), commit statuses, PR lookup (open and merged PRs), collaborator permissions, reactions,
 * and the token's identity (`GET /user` for a user token, GraphQL `viewer` for an installation token). It
 * records every request and can be told to fail routes. Free of jest so any suite or script can use it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  body: string
  authorization?: string
}

export interface FakeComment {
  id: number
  issueNumber: number
  body: string
  user: string
}

export interface FakeStatus {
  sha: string
  state: string
  context: string
  description?: string
  target_url?: string
}

export interface FakeReaction {
  commentId: number
  content: string
}

export interface FakePull {
  number: number
  headSha: string
  state?: 'open' | 'closed'
  /** Further commits that `commits/{sha}/pulls` associates with this PR. */
  commits?: string[]
  /** Set for a merged PR (its state is then closed): the commit the merge created on the base branch. */
  mergeCommitSha?: string
}

export interface FakeGitHubOptions {
  owner?: string
  repo?: string
  pulls?: FakePull[]
  /** login -> admin | maintain | write | triage | read | none */
  permissions?: Record<string, string>
  /** Login that authored comments created through the API: the token's identity. */
  botLogin?: string
  /**
   * `installation` (default): the token is an installation token such as `GITHUB_TOKEN`, refused by
   * `GET /user`, known to GraphQL's `viewer` as `botLogin`. `user`: a personal token, `GET /user` answers.
   */
  tokenKind?: 'installation' | 'user'
}

/** HTTP status to answer with, or 'reset' to drop the connection without an answer. */
export type InjectedFailure = number | 'reset'

export interface FakeGitHub {
  url: string
  requests: RecordedRequest[]
  comments: FakeComment[]
  statuses: FakeStatus[]
  reactions: FakeReaction[]
  pulls: FakePull[]
  /** Adds a comment as if a user had written it; returns it. */
  addComment(issueNumber: number, body: string, user?: string): FakeComment
  /** Called after each request is recorded, before it is answered (e.g. to push a commit meanwhile). */
  onRequest(listener: (request: RecordedRequest) => void): void
  setPermission(user: string, permission: string): void
  failRoute(method: string, pathPattern: RegExp, failure: InjectedFailure): void
  clearFailures(): void
  close(): Promise<void>
}

/** Base permission GitHub derives from a role. */
const BASE_PERMISSION: Record<string, string> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
  none: 'none'
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  response.end(JSON.stringify(body))
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const owner = options.owner ?? 'octo-org'
  const repo = options.repo ?? 'bookinfo'
  const botLogin = options.botLogin ?? 'github-actions[bot]'
  const tokenKind = options.tokenKind ?? 'installation'
  const listeners: ((request: RecordedRequest) => void)[] = []
  const requests: RecordedRequest[] = []
  const comments: FakeComment[] = []
  const statuses: FakeStatus[] = []
  const reactions: FakeReaction[] = []
  const pulls: FakePull[] = [...(options.pulls ?? [])]
  const permissions = new Map(Object.entries(options.permissions ?? {}))
  const failures: { method: string; pattern: RegExp; failure: InjectedFailure }[] = []
  const sockets = new Set<Socket>()
  let nextId = 1000
  let baseUrl = ''

  const repoPath = `/repos/${owner}/${repo}`
  const htmlUrl = (comment: FakeComment) =>
    `https://github.example/${owner}/${repo}/pull/${comment.issueNumber}#issuecomment-${comment.id}`
  const commentJson = (comment: FakeComment) => ({
    id: comment.id,
    body: comment.body,
    html_url: htmlUrl(comment),
    user: { login: comment.user, type: comment.user.endsWith('[bot]') ? 'Bot' : 'User' }
  })
  const pullJson = (pull: FakePull) => ({
    number: pull.number,
    state: pull.mergeCommitSha ? 'closed' : (pull.state ?? 'open'),
    head: { sha: pull.headSha },
    merged_at: pull.mergeCommitSha ? '2024-05-01T09:00:00Z' : null,
    merge_commit_sha: pull.mergeCommitSha ?? null
  })

  function addComment(issueNumber: number, body: string, user = 'someone'): FakeComment {
    const comment = { id: nextId++, issueNumber, body, user }
    comments.push(comment)
    return comment
  }

  function listComments(response: ServerResponse, issueNumber: number, query: Record<string, string>) {
    const perPage = Math.min(Number(query.per_page ?? 30), 100)
    const page = Math.max(Number(query.page ?? 1), 1)
    const all = comments.filter(comment => comment.issueNumber === issueNumber)
    const lastPage = Math.max(1, Math.ceil(all.length / perPage))
    const links: string[] = []
    const pageUrl = (n: number) =>
      `<${baseUrl}${repoPath}/issues/${issueNumber}/comments?per_page=${perPage}&page=${n}>`
    if (page < lastPage) links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(lastPage)}; rel="last"`)
    if (page > 1) links.push(`${pageUrl(1)}; rel="first"`, `${pageUrl(page - 1)}; rel="prev"`)
    const slice = all.slice((page - 1) * perPage, page * perPage).map(commentJson)
    sendJson(response, 200, slice, links.length > 0 ? { link: links.join(', ') } : {})
  }

  async function route(
    method: string,
    path: string,
    query: Record<string, string>,
    body: string,
    response: ServerResponse
  ) {
    const json = body ? (JSON.parse(body) as Record<string, unknown>) : {}
    let match: RegExpExecArray | null
    if (path === '/user' && method === 'GET') {
      return tokenKind === 'user'
        ? sendJson(response, 200, { login: botLogin, type: 'User' })
        : sendJson(response, 403, { message: 'Resource not accessible by integration' })
    }
    if (path === '/graphql' && method === 'POST') {
      const query = String(json.query ?? '')
      if (/\bviewer\s*\{\s*login\s*\}/.test(query))
        return sendJson(response, 200, { data: { viewer: { login: botLogin } } })
      return sendJson(response, 200, {
        errors: [{ message: 'the fake GitHub answers only viewer { login }' }]
      })
    }
    if (!path.startsWith(repoPath + '/')) return sendJson(response, 404, { message: 'Not Found' })
    const rest = path.slice(repoPath.length)

    if ((match = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const issueNumber = Number(match[1])
      if (method === 'GET') return listComments(response, issueNumber, query)
      if (method === 'POST')
        return sendJson(response, 201, commentJson(addComment(issueNumber, String(json.body), botLogin)))
    }
    if ((match = /^\/issues\/comments\/(\d+)$/.exec(rest)) && method === 'PATCH') {
      const comment = comments.find(candidate => candidate.id === Number(match?.[1]))
      if (!comment) return sendJson(response, 404, { message: 'Not Found' })
      comment.body = String(json.body)
      return sendJson(response, 200, commentJson(comment))
    }
    if ((match = /^\/issues\/comments\/(\d+)\/reactions$/.exec(rest)) && method === 'POST') {
      const reaction = { commentId: Number(match[1]), content: String(json.content) }
      reactions.push(reaction)
      return sendJson(response, 201, { id: nextId++, content: reaction.content })
    }
    if ((match = /^\/statuses\/([0-9a-f]+)$/i.exec(rest)) && method === 'POST') {
      const status: FakeStatus = {
        sha: match[1],
        state: String(json.state),
        context: String(json.context ?? 'default'),
        description: json.description as string | undefined,
        target_url: json.target_url as string | undefined
      }
      if (status.description && status.description.length > 140) {
        return sendJson(response, 422, {
          message: 'Validation Failed: description is too long (maximum is 140)'
        })
      }
      statuses.push(status)
      return sendJson(response, 201, { id: nextId++, ...status })
    }
    if ((match = /^\/commits\/([0-9a-f]+)\/pulls$/i.exec(rest)) && method === 'GET') {
      const sha = match[1]
      const associated = pulls.filter(
        pull => pull.headSha === sha || pull.commits?.includes(sha) || pull.mergeCommitSha === sha
      )
      return sendJson(response, 200, associated.map(pullJson))
    }
    if ((match = /^\/pulls\/(\d+)$/.exec(rest)) && method === 'GET') {
      const pull = pulls.find(candidate => candidate.number === Number(match?.[1]))
      return pull
        ? sendJson(response, 200, pullJson(pull))
        : sendJson(response, 404, { message: 'Not Found' })
    }
    if ((match = /^\/collaborators\/([^/]+)\/permission$/.exec(rest)) && method === 'GET') {
      const login = decodeURIComponent(match[1])
      const role = permissions.get(login) ?? 'none'
      return sendJson(response, 200, {
        permission: BASE_PERMISSION[role] ?? 'read',
        role_name: role,
        user: { login }
      })
    }
    return sendJson(response, 404, { message: 'Not Found' })
  }

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1')
      const method = request.method ?? 'GET'
      const body = await readBody(request)
      const recorded: RecordedRequest = {
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        authorization: request.headers.authorization
      }
      requests.push(recorded)
      listeners.forEach(listener => listener(recorded))
      const failure = failures.find(
        candidate => candidate.method === method && candidate.pattern.test(url.pathname)
      )
      if (failure?.failure === 'reset') return request.socket.destroy()
      if (failure)
        return sendJson(response, failure.failure, { message: `injected failure ${failure.failure}` })
      await route(method, url.pathname, Object.fromEntries(url.searchParams), body, response)
    })().catch(error => sendJson(response, 500, { message: String(error) }))
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: baseUrl,
    requests,
    comments,
    statuses,
    reactions,
    pulls,
    addComment,
    onRequest: listener => listeners.push(listener),
    setPermission: (user, permission) => permissions.set(user, permission),
    failRoute: (method, pathPattern, failure) =>
      failures.push({ method: method.toUpperCase(), pattern: pathPattern, failure }),
    clearFailures: () => failures.splice(0),
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
