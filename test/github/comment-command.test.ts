import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import {
  parseCanaryCommand,
  postRefusal,
  resolveCommentCommand,
  withRefusal
} from '../../src/github/comment-command.js'
import { reportMarker } from '../../src/report/render-markdown.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { setWorkflowEnv, type WorkflowEnv } from '../../testkit/github-api/workflow-env.js'

const TOKEN = 'ghs_commentTokenValue0987654321'
const marker = reportMarker('default', 'reviews')

describe('parseCanaryCommand', () => {
  it('reads the first /canary line, case-insensitively, ignoring extra text', () => {
    expect(parseCanaryCommand('/canary advance')).toBe('advance')
    expect(
      parseCanaryCommand('Looks good.\n/Canary PROMOTE please, metrics are fine\n/canary rollback')
    ).toBe('promote')
    expect(parseCanaryCommand('  /canary status\r\n')).toBe('status')
    expect(parseCanaryCommand('/canary rollback')).toBe('rollback')
  })

  it('flags unknown commands and ignores ordinary comments', () => {
    expect(parseCanaryCommand('/canary foo')).toEqual({ unknown: 'foo' })
    expect(parseCanaryCommand('/canary')).toEqual({ unknown: '' })
    expect(parseCanaryCommand('ship it')).toBeUndefined()
    expect(parseCanaryCommand('see /canary advance in the docs')).toBeUndefined()
    expect(parseCanaryCommand('/canaryadvance')).toBeUndefined()
  })
})

describe('resolveCommentCommand', () => {
  let github: FakeGitHub
  let workflow: WorkflowEnv | undefined

  beforeEach(async () => {
    github = await startFakeGitHub({
      permissions: { maintainer: 'write', visitor: 'read', lead: 'maintain' }
    })
  })

  afterEach(async () => {
    workflow?.restore()
    workflow = undefined
    await github.close()
  })

  function commentEvent(
    body: string,
    user: string,
    options: { onPullRequest?: boolean; action?: string } = {}
  ) {
    const event = {
      action: options.action ?? 'created',
      comment: { id: 555, body, user: { login: user, type: 'User' } },
      issue: { number: 7, ...(options.onPullRequest === false ? {} : { pull_request: { url: 'x' } }) }
    }
    workflow = setWorkflowEnv({ apiUrl: github.url, eventName: 'issue_comment', event })
    return workflow.env
  }

  it('runs the command of a commenter with write permission and reacts with eyes', async () => {
    const env = commentEvent('/canary advance', 'maintainer')
    const resolution = await resolveCommentCommand(env, TOKEN)
    expect(resolution).toEqual({
      kind: 'run',
      command: 'advance',
      actor: 'maintainer',
      commentId: 555,
      prNumber: 7,
      warnings: []
    })
    expect(github.reactions).toEqual([{ commentId: 555, content: 'eyes' }])
    expect(github.requests.map(request => request.path)).toContain(
      '/repos/octo-org/bookinfo/collaborators/maintainer/permission'
    )
  })

  it('accepts maintain', async () => {
    const resolution = await resolveCommentCommand(commentEvent('/canary promote', 'lead'), TOKEN)
    expect(resolution.kind).toBe('run')
  })

  it('refuses a commenter with read permission and reacts with -1', async () => {
    const resolution = await resolveCommentCommand(commentEvent('/canary rollback', 'visitor'), TOKEN)
    expect(resolution).toMatchObject({ kind: 'refused', actor: 'visitor', commentId: 555, prNumber: 7 })
    expect(resolution.kind === 'refused' && resolution.reason).toMatch(/@visitor has read permission/)
    expect(github.reactions).toEqual([{ commentId: 555, content: '-1' }])
  })

  it('refuses an unknown command without asking for permissions', async () => {
    const resolution = await resolveCommentCommand(
      commentEvent('/canary deploy-everything', 'maintainer'),
      TOKEN
    )
    expect(resolution.kind).toBe('refused')
    expect(resolution.kind === 'refused' && resolution.reason).toMatch(/unknown command 'deploy-everything'/)
    expect(github.requests.some(request => request.path.includes('/permission'))).toBe(false)
  })

  it('does not repeat a word that could carry Markdown, links or mentions', async () => {
    const word = 'x`[Approve](https://evil.example/a)`@victim'
    const resolution = await resolveCommentCommand(commentEvent(`/canary ${word}`, 'maintainer'), TOKEN)
    expect(resolution).toMatchObject({
      kind: 'refused',
      reason: 'unknown command: use /canary status|advance|rollback|promote|retry'
    })
    const nothing = await resolveCommentCommand(commentEvent('/canary', 'maintainer'), TOKEN)
    expect(nothing).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/^no command given/) })
  })

  it('ignores ordinary comments, comments on issues and edited comments silently', async () => {
    expect((await resolveCommentCommand(commentEvent('nice work', 'maintainer'), TOKEN)).kind).toBe('ignored')
    workflow?.restore()
    const onIssue = commentEvent('/canary advance', 'maintainer', { onPullRequest: false })
    expect((await resolveCommentCommand(onIssue, TOKEN)).kind).toBe('ignored')
    workflow?.restore()
    const edited = commentEvent('/canary advance', 'maintainer', { action: 'edited' })
    expect((await resolveCommentCommand(edited, TOKEN)).kind).toBe('ignored')
    expect(github.requests).toHaveLength(0)
  })

  it('refuses when the permission cannot be read, with a warning', async () => {
    github.failRoute('GET', /\/permission$/, 500)
    const resolution = await resolveCommentCommand(commentEvent('/canary advance', 'maintainer'), TOKEN)
    expect(resolution.kind).toBe('refused')
    expect(resolution.warnings).toEqual([expect.stringMatching(/HTTP 500/)])
  })

  it('still runs when the reaction fails, with a warning', async () => {
    github.failRoute('POST', /\/reactions$/, 403)
    const resolution = await resolveCommentCommand(commentEvent('/canary status', 'maintainer'), TOKEN)
    expect(resolution.kind).toBe('run')
    expect(resolution.warnings).toEqual([expect.stringMatching(/HTTP 403/)])
  })

  it('posts the refusal into the sticky comment, keeping the report and replacing an older refusal', async () => {
    const env = commentEvent('/canary advance', 'visitor')
    const sticky = github.addComment(7, `${marker}\n### report body`, 'github-actions[bot]')
    const options = {
      token: TOKEN,
      env,
      prNumber: 7,
      namespace: 'default',
      service: 'reviews',
      actor: 'visitor'
    }

    expect(await postRefusal({ ...options, reason: 'first <reason>' })).toEqual([])
    expect(sticky.body).toContain('refused: first \\<reason\\>')
    expect(await postRefusal({ ...options, reason: 'second reason' })).toEqual([])

    expect(github.comments).toHaveLength(1)
    expect(sticky.body.startsWith(marker)).toBe(true)
    expect(sticky.body).toContain('refused: second reason')
    expect(sticky.body).not.toContain('first')
    expect(sticky.body).toContain('### report body')
    for (const request of github.requests) expect(request.body).not.toContain(TOKEN)
  })
})

describe('withRefusal', () => {
  it('creates a body with the marker first when there is no comment yet', () => {
    const body = withRefusal(undefined, marker, 'someone', 'unknown command')
    expect(body.split('\n')[0]).toBe(marker)
    expect(body).toContain('`/canary` from `@someone` refused: unknown command')
  })

  it('escapes the reason, so a refusal renders no link or mention', () => {
    const body = withRefusal(undefined, marker, 'someone', '[x](https://evil.example) @victim *y*')
    expect(body).toContain('refused: \\[x\\](https\\://evil.example) @\u2060victim \\*y\\*')
  })
})
