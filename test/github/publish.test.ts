import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import {
  commitStatusFor,
  findReportTarget,
  publishFailure,
  publishReports,
  type ReportKind
} from '../../src/github/publish.js'
import { reportMarker } from '../../src/report/render-markdown.js'
import { runSecrets } from '../../src/common/secret-scrubber.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { setWorkflowEnv, type WorkflowEnv } from '../../testkit/github-api/workflow-env.js'
import { sampleReport } from '../report/sample-report.js'

const TOKEN = 'ghs_fakeTokenValue1234567890abcdef'
const HEAD_SHA = 'aaaa000000000000000000000000000000000001'
const PUSH_SHA = 'bbbb000000000000000000000000000000000002'
const ALL_KINDS = new Set<ReportKind>(['comment', 'status', 'summary'])
const marker = reportMarker('default', 'reviews')
const MERGE_SHA = 'dddd000000000000000000000000000000000004'

const pullRequestEvent = {
  action: 'synchronize',
  number: 7,
  pull_request: { number: 7, head: { sha: HEAD_SHA } }
}

let github: FakeGitHub
let workflow: WorkflowEnv | undefined

beforeEach(async () => {
  github = await startFakeGitHub({ pulls: [{ number: 7, headSha: HEAD_SHA, commits: [PUSH_SHA] }] })
})

afterEach(async () => {
  workflow?.restore()
  workflow = undefined
  await github.close()
})

function useEvent(eventName: string, event: unknown, apiUrl = github.url) {
  workflow = setWorkflowEnv({ apiUrl, eventName, event, sha: PUSH_SHA })
  return workflow.env
}

describe('publishReports', () => {
  it('creates one sticky comment and updates it in place on the next run', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    github.addComment(7, 'LGTM', 'reviewer')

    const first = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })
    expect(first.warnings).toEqual([])
    expect(first.prNumber).toBe(7)
    expect(first.commentUrl).toMatch(/issuecomment-/)

    const second = await publishReports(sampleReport({ status: 'completed', message: 'all stages passed' }), {
      token: TOKEN,
      kinds: ALL_KINDS,
      env
    })
    expect(second.warnings).toEqual([])
    const sticky = github.comments.filter(comment => comment.body.includes(marker))
    expect(sticky).toHaveLength(1)
    expect(sticky[0].body).toContain('**completed**')
    expect(
      github.requests.filter(request => request.method === 'POST' && request.path.endsWith('/comments'))
    ).toHaveLength(1)
    expect(github.requests.filter(request => request.method === 'PATCH')).toHaveLength(1)
    expect(readFileSync(workflow!.summaryPath, 'utf8')).toContain('**completed**')
  })

  it('finds the marker comment on page 2 of the comments', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    for (let index = 0; index < 130; index++) github.addComment(7, `chatter ${index}`)
    const sticky = github.addComment(7, `${marker}\nold report`, 'github-actions[bot]')

    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: new Set(['comment']), env })

    expect(result.warnings).toEqual([])
    expect(github.comments).toHaveLength(131)
    expect(sticky.body).toContain('**advanced**')
    const pages = github.requests.filter(
      request => request.method === 'GET' && request.path.endsWith('/comments')
    )
    expect(pages.map(request => request.query.page ?? '1')).toEqual(['1', '2'])
    expect(pages.every(request => request.query.per_page === '100')).toBe(true)
  })

  it('finds the PR of a push through commits/{sha}/pulls and sets the status on its head', async () => {
    const env = useEvent('push', { ref: 'refs/heads/feature' })
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })

    expect(result.prNumber).toBe(7)
    expect(
      github.requests.some(request => request.path === `/repos/octo-org/bookinfo/commits/${PUSH_SHA}/pulls`)
    ).toBe(true)
    expect(github.comments.filter(comment => comment.issueNumber === 7)).toHaveLength(1)
    expect(github.statuses).toEqual([
      expect.objectContaining({ sha: HEAD_SHA, state: 'success', context: 'canary/reviews' })
    ])
  })

  it('reports on no PR when a push has none, and still sets the status on GITHUB_SHA', async () => {
    github.pulls.splice(0)
    const env = useEvent('workflow_dispatch', {})
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })

    expect(result.warnings).toEqual([])
    expect(result.prNumber).toBeUndefined()
    expect(github.comments).toHaveLength(0)
    expect(github.statuses.map(status => status.sha)).toEqual([PUSH_SHA])
  })

  it('reports on the PR of an issue_comment event, reading its head through pulls/{n}', async () => {
    const env = useEvent('issue_comment', {
      action: 'created',
      comment: { id: 9, body: '/canary advance', user: { login: 'maintainer' } },
      issue: { number: 7, pull_request: { url: 'x' } }
    })
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })

    expect(result.prNumber).toBe(7)
    expect(github.requests.some(request => request.path === '/repos/octo-org/bookinfo/pulls/7')).toBe(true)
    expect(github.statuses.map(status => status.sha)).toEqual([HEAD_SHA])
  })

  it('lets the pr-number input override the event', async () => {
    github.pulls.push({ number: 12, headSha: 'cccc000000000000000000000000000000000003' })
    const env = useEvent('pull_request', pullRequestEvent)
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env, prNumber: 12 })

    expect(result.prNumber).toBe(12)
    expect(github.comments.map(comment => comment.issueNumber)).toEqual([12])
    expect(github.statuses[0].sha).toBe('cccc000000000000000000000000000000000003')
  })

  it('sets pending, success and failure statuses with a bounded description, and none for dry runs', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    const watching = sampleReport({ message: 'x'.repeat(300) })
    watching.ladder[1].state = 'current'
    const kinds = new Set<ReportKind>(['status'])
    await publishReports(watching, { token: TOKEN, kinds, env })
    await publishReports(sampleReport(), { token: TOKEN, kinds, env })
    await publishReports(sampleReport({ status: 'rolled-back' }), { token: TOKEN, kinds, env })
    await publishReports(sampleReport({ status: 'planned', dryRun: true }), { token: TOKEN, kinds, env })
    await publishReports(sampleReport({ command: 'status', status: 'in-progress' }), {
      token: TOKEN,
      kinds,
      env
    })

    expect(github.statuses.map(status => status.state)).toEqual(['pending', 'success', 'failure'])
    for (const status of github.statuses) {
      expect(status.context).toBe('canary/reviews')
      expect(status.description!.length).toBeLessThanOrEqual(140)
      expect(status.target_url).toBe('https://github.example/octo-org/bookinfo/actions/runs/4242')
    }
    expect(commitStatusFor(sampleReport({ status: 'planned', dryRun: true }))).toBeUndefined()
  })

  it('turns 500s into warnings without throwing', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    github.failRoute('GET', /\/comments$/, 500)
    github.failRoute('POST', /\/statuses\//, 502)
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })

    expect(result.warnings).toHaveLength(2)
    expect(result.warnings[0]).toMatch(/could not write the comment on PR #7: HTTP 500/)
    expect(result.warnings[1]).toMatch(/could not set the commit status .*HTTP 502/)
    expect(result.markdown).toContain(marker)
  })

  it('turns a 403 into a warning that names the missing permission', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    github.failRoute('POST', /\/issues\/7\/comments$/, 403)
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })

    expect(result.warnings).toHaveLength(1)
    expect(result.warnings[0]).toMatch(/HTTP 403 .*permissions: pull-requests: write/)
    expect(github.statuses).toHaveLength(1)
  })

  it('warns when GitHub refuses connections or drops them', async () => {
    const closedUrl = github.url
    await github.close()
    const env = useEvent('push', {}, closedUrl)
    const refused = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })
    expect(refused.warnings).toHaveLength(2)
    expect(refused.warnings.join('\n')).toMatch(/could not find the pull request/)

    github = await startFakeGitHub({ pulls: [{ number: 7, headSha: HEAD_SHA, commits: [PUSH_SHA] }] })
    github.failRoute('GET', /./, 'reset')
    github.failRoute('POST', /./, 'reset')
    env.GITHUB_API_URL = github.url
    const dropped = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env })
    expect(dropped.warnings).toHaveLength(2)
  })

  it('attempts nothing without a token, with one warning', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    const result = await publishReports(sampleReport(), { token: '', kinds: ALL_KINDS, env })
    expect(result.warnings).toEqual([expect.stringMatching(/no github-token/)])
    expect(github.requests).toHaveLength(0)
  })

  it('writes the summary through the given writer and nothing else for report: summary', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    const written: string[] = []
    await publishReports(sampleReport(), {
      token: TOKEN,
      kinds: new Set(['summary']),
      env,
      summaryWriter: async markdown => {
        written.push(markdown)
      }
    })
    expect(written).toHaveLength(1)
    expect(written[0].startsWith(marker)).toBe(true)
    expect(github.requests).toHaveLength(0)
  })

  it('never writes the token into a request body, the markdown or a warning', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    const report = sampleReport()
    const ok = await publishReports(report, { token: TOKEN, kinds: ALL_KINDS, env })
    github.failRoute('POST', /./, 401)
    const failing = await publishReports(report, { token: TOKEN, kinds: ALL_KINDS, env })

    expect(github.requests.length).toBeGreaterThan(3)
    for (const request of github.requests) {
      expect(request.authorization).toBe(`token ${TOKEN}`)
      expect(request.body).not.toContain(TOKEN)
      expect(request.path + JSON.stringify(request.query)).not.toContain(TOKEN)
    }
    const written = [
      ok.markdown,
      failing.markdown,
      ...ok.warnings,
      ...failing.warnings,
      readFileSync(workflow!.summaryPath, 'utf8')
    ]
    for (const text of written) expect(text).not.toContain(TOKEN)
  })
})

describe('the sticky comment belongs to the token that writes it', () => {
  it('never adopts a comment with the marker that someone else wrote, nor one not starting with it', async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    const forged = github.addComment(7, `${marker}\n### ✅ Canary: **completed** (forged)`, 'mallory')
    const quoting = github.addComment(7, `> ${marker}\n> old`, 'github-actions[bot]')

    await publishReports(sampleReport(), { token: TOKEN, kinds: new Set(['comment']), env })
    await publishReports(sampleReport({ status: 'completed' }), {
      token: TOKEN,
      kinds: new Set(['comment']),
      env
    })

    expect(forged.body).toContain('(forged)')
    expect(quoting.body).toBe(`> ${marker}\n> old`)
    const own = github.comments.filter(comment => comment !== forged && comment !== quoting)
    expect(own).toHaveLength(1)
    expect(own[0]).toMatchObject({ user: 'github-actions[bot]' })
    expect(own[0].body.startsWith(marker)).toBe(true)
    expect(own[0].body).toContain('**completed**')
    expect(
      github.requests.filter(request => request.method === 'PATCH').map(request => request.path)
    ).toEqual([`/repos/octo-org/bookinfo/issues/comments/${own[0].id}`])
  })

  it('finds the identity of a personal token with GET /user, once', async () => {
    await github.close()
    github = await startFakeGitHub({
      pulls: [{ number: 7, headSha: HEAD_SHA }],
      tokenKind: 'user',
      botLogin: 'release-bot'
    })
    const env = useEvent('pull_request', pullRequestEvent)
    const others = github.addComment(7, `${marker}\nanother workflow's report`, 'github-actions[bot]')
    const own = github.addComment(7, `${marker}\nold report`, 'release-bot')
    const token = 'ghp_personalTokenValue000111222333'

    await publishReports(sampleReport(), { token, kinds: new Set(['comment']), env })
    await publishReports(sampleReport(), { token, kinds: new Set(['comment']), env })

    expect(others.body).toContain("another workflow's report")
    expect(own.body).toContain('**advanced**')
    expect(github.requests.filter(request => request.path === '/user')).toHaveLength(1)
    expect(github.requests.some(request => request.path === '/graphql')).toBe(false)
  })

  it("takes the default token's identity when neither GET /user nor GraphQL answers", async () => {
    const env = useEvent('pull_request', pullRequestEvent)
    github.failRoute('POST', /^\/graphql$/, 403)
    const own = github.addComment(7, `${marker}\nold report`, 'github-actions[bot]')
    const token = 'ghs_anotherInstallationToken4455667788'
    const result = await publishReports(sampleReport(), { token, kinds: new Set(['comment']), env })
    expect(result.warnings).toEqual([])
    expect(own.body).toContain('**advanced**')
    expect(github.comments).toHaveLength(1)
  })
})

describe('which PR and commit a run reports on', () => {
  it('after a merge, finds the merged PR from its merge commit and sets the status on that commit', async () => {
    github.pulls.splice(0, 1, { number: 7, headSha: HEAD_SHA, mergeCommitSha: MERGE_SHA })
    workflow = setWorkflowEnv({ apiUrl: github.url, eventName: 'push', event: {}, sha: MERGE_SHA })
    const result = await publishReports(sampleReport(), { token: TOKEN, kinds: ALL_KINDS, env: workflow.env })
    expect(result.warnings).toEqual([])
    expect(result.prNumber).toBe(7)
    expect(github.comments.map(comment => comment.issueNumber)).toEqual([7])
    expect(github.statuses.map(status => status.sha)).toEqual([MERGE_SHA])
  })

  it('uses the PR and commit found when the run started, whatever the PR holds when publishing', async () => {
    const env = useEvent('issue_comment', {
      action: 'created',
      comment: { id: 9, body: '/canary advance', user: { login: 'maintainer' } },
      issue: { number: 7, pull_request: { url: 'x' } }
    })
    const options = { token: TOKEN, kinds: ALL_KINDS, env, prNumber: 7 }
    const target = await findReportTarget(options)
    expect(target).toEqual({ pull: { number: 7, headSha: HEAD_SHA }, sha: HEAD_SHA, warnings: [] })

    github.pulls[0].headSha = 'ffff000000000000000000000000000000000009'
    await publishReports(sampleReport(), { ...options, target })
    expect(github.statuses.map(status => status.sha)).toEqual([HEAD_SHA])
    expect(github.requests.filter(request => request.path.endsWith('/pulls/7'))).toHaveLength(1)
  })
})

describe('secrets', () => {
  it('scrubs every registered secret, whole or cut short, from the comment, the summary and the status', async () => {
    const secret = 'registeredS3cretValueForTheScrubber42'
    runSecrets.add(secret)
    const env = useEvent('pull_request', pullRequestEvent)
    const report = sampleReport({ message: `server said ${secret.slice(0, 11)}… and ${secret}` })
    report.evaluations[2] = {
      ...report.evaluations[2],
      verdict: 'fail',
      message: `echo ${secret.slice(0, 20)}`
    }
    const result = await publishReports(report, { token: TOKEN, kinds: ALL_KINDS, env })
    const failed = await publishFailure(
      { namespace: 'default', service: 'reviews', message: `drift near ${secret.slice(0, 9)}` },
      { token: TOKEN, kinds: ALL_KINDS, env }
    )
    expect([...result.warnings, ...failed]).toEqual([])

    const published = [
      readFileSync(workflow!.summaryPath, 'utf8'),
      ...github.comments.map(comment => comment.body),
      ...github.statuses.map(status => status.description ?? '')
    ]
    for (const text of published) expect(text).not.toContain(secret.slice(0, 8))
    expect(github.comments[0].body).toContain('server said ***… and ***')
  })
})
