/** GitHub reports and `/canary` approvals through the action's entry point, against a fake GitHub REST server. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { bookinfoObjects, VS_PLAN } from '../../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { runAction } from '../../testkit/run-action.js'

const TOKEN = 'ghs_fakeTokenThatMustNeverLeak0123456789'
const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'

let api: KubeApi
let github: FakeGitHub
beforeAll(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
  github = await startFakeGitHub({
    owner: 'octo-org',
    repo: 'bookinfo',
    pulls: [{ number: 7, headSha: HEAD }],
    permissions: { maintainer: 'write', visitor: 'read' }
  })
})
afterAll(async () => {
  await github.close()
  await api.close()
})

function workflowEnv(eventName: string, event: unknown = {}): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'event-'))
  const eventPath = path.join(dir, 'event.json')
  writeFileSync(eventPath, JSON.stringify(event))
  return {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'octo-org/bookinfo',
    GITHUB_SHA: HEAD,
    GITHUB_EVENT_NAME: eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.com'
  }
}

const run = (inputs: Record<string, string>, env: Record<string, string>) =>
  runAction({
    inputs: { plan: VS_PLAN, kubeconfig: api.kubeconfig(), 'github-token': TOKEN, ...inputs },
    env
  })

describe('reports', () => {
  it('creates one sticky comment on the PR of the pushed commit, then updates it in place', async () => {
    const first = await run({}, workflowEnv('push'))
    expect(first.exitCode).toBe(0)
    expect(github.comments).toHaveLength(1)
    expect(github.comments[0].body).toContain('<!-- istio-canary-action:default/reviews -->')
    expect(github.comments[0].body).toContain('test-user')
    expect(first.summary).toContain('test-user')
    expect(github.statuses.at(-1)).toMatchObject({ sha: HEAD, state: 'success', context: 'canary/reviews' })

    const second = await run({}, workflowEnv('push'))
    expect(second.exitCode).toBe(0)
    expect(second.outputs.stage).toBe('5%')
    expect(github.comments).toHaveLength(1)
    expect(github.comments[0].body).toContain('5%')
    expect(
      github.requests.filter(r => r.method === 'PATCH' && r.path.includes('/issues/comments/'))
    ).toHaveLength(1)
  })

  it('treats GitHub being down as a warning that does not change the outcome', async () => {
    github.failRoute('GET', /.*/, 503)
    github.failRoute('POST', /.*/, 503)
    try {
      const result = await run({ command: 'status' }, workflowEnv('push'))
      expect(result.exitCode).toBe(0)
      expect(result.outputs.status).toBe('in-progress')
      expect(result.annotations.some(a => a.kind === 'warning' && /GitHub/i.test(a.message))).toBe(true)
    } finally {
      github.clearFailures()
    }
  })

  it('never writes the token anywhere', () => {
    for (const request of github.requests) expect(request.body).not.toContain(TOKEN)
    for (const comment of github.comments) expect(comment.body).not.toContain(TOKEN)
  })
})

describe('/canary comments', () => {
  const commentEvent = (body: string, user: string, id: number) => ({
    action: 'created',
    issue: { number: 7, pull_request: { url: 'https://api.github.com/repos/octo-org/bookinfo/pulls/7' } },
    comment: { id, body, user: { login: user, type: 'User' } }
  })

  it('refuses a commenter without write permission and changes nothing in the cluster', async () => {
    api.clearRequests()
    const result = await run(
      { command: 'comment' },
      workflowEnv('issue_comment', commentEvent('/canary advance', 'visitor', 901))
    )
    expect(result.exitCode).toBe(0)
    expect(api.requests).toEqual([])
    expect(github.comments[0].body).toMatch(/@visitor[\s\S]*refused/)
  })

  it('runs /canary advance for a maintainer', async () => {
    const result = await run(
      { command: 'comment' },
      workflowEnv('issue_comment', commentEvent('/canary advance\nlooks good', 'maintainer', 902))
    )
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage: '50%' })
    expect(github.reactions.some(r => r.content === 'eyes')).toBe(true)
  })

  it('ignores ordinary comments', async () => {
    api.clearRequests()
    const result = await run(
      { command: 'comment' },
      workflowEnv('issue_comment', commentEvent('nice work', 'maintainer', 903))
    )
    expect(result.exitCode).toBe(0)
    expect(result.outputs.status).toBe('unchanged')
    expect(api.requests).toEqual([])
  })
})

describe('a run that stops without a report', () => {
  it('puts a notice above the last report and fails the commit status; the next report clears it', async () => {
    // Someone changes the retries of the route the release manages: drift.
    const edited = api.get('networking.istio.io/v1', 'VirtualService', 'default', 'reviews')!
    const routes = (edited.spec as { http: { name?: string; retries?: unknown }[] }).http
    routes.find(route => route.name === 'reviews-route')!.retries = { attempts: 9 }
    api.put(edited)

    const refused = await run({}, workflowEnv('push'))
    expect(refused.exitCode).toBe(1)
    const body = github.comments[0].body
    expect(body.split('\n')[0]).toBe('<!-- istio-canary-action:default/reviews -->')
    // Markdown-escaped in the comment, so the field path's brackets stay text.
    expect(body).toMatch(
      /> The last run failed: drift: VirtualService default\/reviews \(spec\.http\\\[\d\\\]\.retries/
    )
    expect(body).toContain('50%')
    expect(github.statuses.at(-1)).toMatchObject({ state: 'failure', context: 'canary/reviews' })
    expect(github.statuses.at(-1)!.description).toMatch(/^failed: drift/)
    expect(refused.summary).toContain('The last run failed: drift')

    const rolledBack = await run({ command: 'rollback' }, workflowEnv('push'))
    expect(rolledBack.exitCode).toBe(0)
    expect(github.comments).toHaveLength(1)
    expect(github.comments[0].body).not.toContain('The last run failed')
    expect(github.comments[0].body).toContain('rolled-back')
  })
})
