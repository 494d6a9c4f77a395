/**
 * The PR report through the action's entry point, against a fake GitHub REST server, played as an attacker
 * would: a forged sticky comment, Markdown in a `/canary` word, a push while a commented command runs; and the
 * push-after-merge flow, which must reach the PR that caused it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { bookinfoObjects, VS_PLAN } from '../../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { runAction, startAction } from '../../testkit/run-action.js'

const TOKEN = 'ghs_prReportTokenThatMustNeverLeak01234'
const MARKER = '<!-- istio-canary-action:default/reviews -->'
const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'
const PUSHED_LATER = 'ffff000000000000000000000000000000000001'
const FEATURE_COMMIT = 'eeee000000000000000000000000000000000002'
const FEATURE_HEAD = 'eeee000000000000000000000000000000000003'
const MERGED_HEAD = 'dddd000000000000000000000000000000000004'
const MERGE_COMMIT = 'dddd000000000000000000000000000000000005'

/** Bookinfo's ladder, each stage watched for 2s by a check, so a run lasts long enough to push meanwhile. */
const PLAN = VS_PLAN.replace(
  'analysis:\n  bake: 0s\n',
  'analysis:\n  interval: 500ms\n  bake: 2s\n  checks:\n    - name: canary-pods\n      kubernetes: { maxRestarts: 0 }\n'
)

let api: KubeApi
let github: FakeGitHub
beforeAll(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
  github = await startFakeGitHub({
    owner: 'octo-org',
    repo: 'bookinfo',
    pulls: [
      { number: 7, headSha: HEAD },
      { number: 8, headSha: MERGED_HEAD, mergeCommitSha: MERGE_COMMIT },
      { number: 9, headSha: FEATURE_HEAD, commits: [FEATURE_COMMIT] }
    ],
    permissions: { maintainer: 'write' }
  })
})
afterAll(async () => {
  await github.close()
  await api.close()
})

function workflowEnv(eventName: string, event: unknown, sha = HEAD): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'event-'))
  const eventPath = path.join(dir, 'event.json')
  writeFileSync(eventPath, JSON.stringify(event))
  return {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'octo-org/bookinfo',
    GITHUB_SHA: sha,
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.com'
  }
}

const inputs = (extra: Record<string, string> = {}) => ({
  plan: PLAN,
  kubeconfig: api.kubeconfig(),
  'github-token': TOKEN,
  ...extra
})

const commentEvent = (body: string, user: string, id: number) => ({
  action: 'created',
  issue: { number: 7, pull_request: { url: 'https://api.github.com/repos/octo-org/bookinfo/pulls/7' } },
  comment: { id, body, user: { login: user, type: 'User' } }
})

const commentsOn = (pr: number) => github.comments.filter(comment => comment.issueNumber === pr)

describe('attack 1: taking over the sticky comment', () => {
  it('never adopts a comment someone else wrote with the marker, only its own', async () => {
    const forged = github.addComment(
      7,
      `${MARKER}\n### ✅ Canary \`default/reviews\`: **completed**`,
      'mallory'
    )
    const quoted = github.addComment(7, `Quoting the bot:\n${MARKER}\nold text`, 'github-actions[bot]')
    const forgedBody = forged.body

    const first = await runAction({ inputs: inputs(), env: workflowEnv('push', {}) })
    expect(first.exitCode).toBe(0)
    expect(forged.body).toBe(forgedBody)
    expect(quoted.body).toContain('old text')
    const own = commentsOn(7).filter(comment => comment.user === 'github-actions[bot]' && comment !== quoted)
    expect(own).toHaveLength(1)
    expect(own[0].body.startsWith(MARKER)).toBe(true)
    expect(own[0].body).toContain('**advanced**')

    // The next run edits its own comment, and the forged one stays as its author left it.
    const requestsBefore = github.requests.length
    const second = await runAction({ inputs: inputs(), env: workflowEnv('push', {}) })
    expect(second.exitCode).toBe(0)
    const edits = github.requests
      .slice(requestsBefore)
      .filter(request => request.method === 'PATCH')
      .map(request => request.path)
    expect(edits).toEqual([`/repos/octo-org/bookinfo/issues/comments/${own[0].id}`])
    expect(forged.body).toBe(forgedBody)
    // The token's identity is looked up once per run.
    const lookups = github.requests
      .slice(requestsBefore)
      .filter(request => request.path === '/user' || request.path === '/graphql')
    expect(lookups.map(request => request.path)).toEqual(['/user', '/graphql'])
  }, 120_000)
})

describe('attack 2: Markdown in a /canary word', () => {
  it('answers an unknown command without repeating what the commenter wrote', async () => {
    api.clearRequests()
    const word = 'x`[Approve](https://evil.example/a)`@victim'
    const result = await runAction({
      inputs: inputs({ command: 'comment' }),
      env: workflowEnv('issue_comment', commentEvent(`/canary ${word}`, 'passer-by', 911))
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs.status).toBe('unchanged')
    expect(api.requests).toEqual([])
    const own = commentsOn(7).find(
      comment => comment.user === 'github-actions[bot]' && comment.body.startsWith(MARKER)
    )!
    expect(own.body).toContain(
      'refused: unknown command: use /canary status\\|advance\\|rollback\\|promote\\|retry'
    )
    expect(own.body).toContain('`@passer-by`')
    expect(own.body).not.toMatch(/evil\.example|\[Approve\]|@victim/)
  }, 60_000)
})

describe('attack 7: a push while a commented command runs', () => {
  it('sets the commit status on the head the maintainer commented on, not on a commit pushed meanwhile', async () => {
    const pull = github.pulls.find(candidate => candidate.number === 7)!
    const running = startAction({
      inputs: inputs({ command: 'comment' }),
      env: workflowEnv('issue_comment', commentEvent('/canary advance', 'maintainer', 912))
    })
    // The stage is being watched: someone pushes to the PR.
    await running.waitForOutput(/canary-pods .*ok/, 60_000)
    pull.headSha = PUSHED_LATER
    const result = await running.result
    pull.headSha = HEAD
    expect(result.exitCode).toBe(0)
    expect(result.outputs.status).toBe('advanced')
    const status = github.statuses.at(-1)!
    expect(status).toMatchObject({ context: 'canary/reviews', state: 'success' })
    expect(status.sha).toBe(HEAD)
    expect(github.statuses.some(candidate => candidate.sha === PUSHED_LATER)).toBe(false)
  }, 120_000)
})

describe('gap 9: which PR a push reports on', () => {
  it('prefers an open PR that contains the pushed commit', async () => {
    const result = await runAction({ inputs: inputs(), env: workflowEnv('push', {}, FEATURE_COMMIT) })
    expect(result.exitCode).toBe(0)
    expect(commentsOn(9)).toHaveLength(1)
    expect(commentsOn(9)[0].body.startsWith(MARKER)).toBe(true)
    expect(github.statuses.at(-1)).toMatchObject({ sha: FEATURE_HEAD, context: 'canary/reviews' })
  }, 120_000)

  it('after a merge, reports on the merged PR whose merge commit was pushed, with the status on that commit', async () => {
    const result = await runAction({ inputs: inputs(), env: workflowEnv('push', {}, MERGE_COMMIT) })
    expect(result.exitCode).toBe(0)
    expect(result.stdout).not.toContain('No pull request found')
    expect(commentsOn(8)).toHaveLength(1)
    // The last stage of the ladder: this push completes the release.
    expect(commentsOn(8)[0].body).toContain('**completed**')
    expect(github.statuses.at(-1)).toMatchObject({ sha: MERGE_COMMIT, context: 'canary/reviews' })
  }, 120_000)
})
