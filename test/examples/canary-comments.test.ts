/**
 * examples/canary-comments.yml under attack: anyone who can comment on a PR starts a workflow run. GitHub keeps
 * one running and one pending run per concurrency group, and a newer pending run cancels the pending one; a run
 * takes a workflow-level group when it is created, before any job's `if:`, and a job-level group only when the
 * job starts. The test replays comments against that rule, with the workflow's own permission check (its shell
 * step, run against a stand-in for the `gh` CLI).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { PROJECT_ROOT } from '../../testkit/run-action.js'

interface Step {
  id?: string
  run?: string
  uses?: string
  env?: Record<string, string>
}
interface Job {
  if?: string
  needs?: string | string[]
  concurrency?: unknown
  outputs?: Record<string, string>
  permissions?: Record<string, string>
  steps: Step[]
}
interface Workflow {
  concurrency?: unknown
  jobs: Record<string, Job>
}

interface Comment {
  author: string
  type?: 'User' | 'Bot'
  body: string
}

/** Repository permission (base permission, role) of each commenter, as the GitHub API reports it. */
const ACCESS: Record<string, string> = {
  maintainer: 'write maintain',
  owner: 'admin admin',
  'release-manager': 'write release-managers',
  visitor: 'read read',
  triager: 'read triage'
}

const workflow = parseYaml(
  readFileSync(path.join(PROJECT_ROOT, 'examples', 'canary-comments.yml'), 'utf8')
) as Workflow

let sandbox: string
beforeAll(() => {
  sandbox = mkdtempSync(path.join(os.tmpdir(), 'canary-comments-'))
  // Answers `gh api …/collaborators/<login>/permission` from ACCESS (404 for strangers), records the rest.
  const cases = Object.entries(ACCESS)
    .map(([login, access]) => `  *"/collaborators/${login}/permission"*) echo "${access}" ;;`)
    .join('\n')
  const gh = `#!/usr/bin/env bash\necho "$*" >>"$GH_CALLS"\ncase "$*" in\n${cases}\n  *"/permission"*) echo "gh: Not Found (HTTP 404)" >&2; exit 1 ;;\nesac\n`
  writeFileSync(path.join(sandbox, 'gh'), gh)
  chmodSync(path.join(sandbox, 'gh'), 0o755)
})
afterAll(() => rmSync(sandbox, { recursive: true, force: true }))

/** The job that decides who may run commands: the one the grouped jobs wait for. */
function gateOf(job: Job): { name: string; output: string } | undefined {
  const needs = ([] as string[]).concat(job.needs ?? [])
  const match = /^needs\.([\w-]+)\.outputs\.([\w-]+) == 'true'$/.exec((job.if ?? '').trim())
  return match && needs.includes(match[1]) ? { name: match[1], output: match[2] } : undefined
}

/** The gate job's `if:` for a PR comment: the one condition the example uses, evaluated. */
function gateJobStarts(job: Job, comment: Comment): boolean {
  expect((job.if ?? '').replace(/\s+/g, ' ').trim()).toBe(
    "github.event.issue.pull_request && startsWith(github.event.comment.body, '/canary')"
  )
  return comment.body.startsWith('/canary')
}

/** Runs the gate job's steps (shell only) for a comment; returns its outputs and the `gh` calls it made. */
function runGate(job: Job, comment: Comment): { outputs: Record<string, string>; calls: string[] } {
  const outputFile = path.join(sandbox, `output-${Math.random().toString(36).slice(2)}`)
  const callsFile = `${outputFile}.calls`
  writeFileSync(outputFile, '')
  writeFileSync(callsFile, '')
  const stepOutputs: Record<string, Record<string, string>> = {}
  for (const step of job.steps) {
    expect(step.uses).toBeUndefined()
    const env: Record<string, string> = {}
    for (const [name, value] of Object.entries(step.env ?? {})) {
      env[name] = value
        .replace('${{ github.token }}', 'ghs_fake')
        .replace('${{ github.repository }}', 'octo-org/bookinfo')
        .replace('${{ github.event.comment.id }}', '555')
        .replace('${{ github.event.comment.user.login }}', comment.author)
        .replace('${{ github.event.comment.user.type }}', comment.type ?? 'User')
      expect(env[name]).not.toContain('${{')
    }
    writeFileSync(outputFile, '')
    execFileSync('bash', ['-e', '-o', 'pipefail', '-c', step.run ?? ''], {
      env: { PATH: `${sandbox}:${process.env.PATH}`, GITHUB_OUTPUT: outputFile, GH_CALLS: callsFile, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    stepOutputs[step.id ?? ''] = Object.fromEntries(
      readFileSync(outputFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(line => line.split('=', 2) as [string, string])
    )
  }
  const outputs = Object.fromEntries(
    Object.entries(job.outputs ?? {}).map(([name, expression]) => {
      const [, id, output] = /steps\.([\w-]+)\.outputs\.([\w-]+)/.exec(expression) ?? []
      return [name, stepOutputs[id]?.[output] ?? '']
    })
  )
  const calls = readFileSync(callsFile, 'utf8').split('\n').filter(Boolean)
  return { outputs, calls }
}

/** Does the run a comment starts take the concurrency group? */
function takesTheGroup(comment: Comment): boolean {
  if (workflow.concurrency !== undefined) return true
  return Object.values(workflow.jobs).some(job => {
    if (job.concurrency === undefined) return false
    const gate = gateOf(job)
    if (!gate) return true
    const gateJob = workflow.jobs[gate.name]
    if (!gateJobStarts(gateJob, comment)) return false
    return runGate(gateJob, comment).outputs[gate.output] === 'true'
  })
}

/** Replays comments: the run each one starts, if it queues, replaces the pending run of the group. */
function pendingAfter(running: Comment, comments: Comment[]): Comment | undefined {
  let pending: Comment | undefined
  expect(takesTheGroup(running)).toBe(true)
  for (const comment of comments) if (takesTheGroup(comment)) pending = comment
  return pending
}

describe('examples/canary-comments.yml', () => {
  const advance = { author: 'maintainer', body: '/canary advance' }
  const rollback = { author: 'owner', body: '/canary rollback' }

  it('lets no comment from outside the writers cancel a maintainer’s queued /canary rollback', () => {
    const noise: Comment[] = [
      { author: 'passer-by', body: 'nice work' },
      { author: 'visitor', body: '/canary advance' },
      { author: 'triager', body: '/canary promote' },
      { author: 'renovate[bot]', type: 'Bot', body: '/canary rollback' }
    ]
    expect(pendingAfter(advance, [rollback, ...noise])).toBe(rollback)
  })

  it('still queues the commands of everyone with write permission, custom roles by their base permission', () => {
    for (const author of ['maintainer', 'owner', 'release-manager']) {
      expect(takesTheGroup({ author, body: '/canary status' })).toBe(true)
    }
  })

  it('checks permission in a job with no group, no secrets and no checkout, and answers refusals with 👎', () => {
    const grouped = Object.entries(workflow.jobs).filter(([, job]) => job.concurrency !== undefined)
    expect(grouped.length).toBeGreaterThan(0)
    for (const [, job] of grouped) {
      const gate = gateOf(job)!
      expect(gate).toBeDefined()
      const gateJob = workflow.jobs[gate.name]
      expect(gateJob.concurrency).toBeUndefined()
      expect(JSON.stringify(gateJob)).not.toMatch(/secrets\.|kubeconfig/i)
      expect(Object.keys(gateJob.permissions ?? {})).toEqual(['pull-requests'])
      // Comment text never reaches a shell through an expression.
      for (const step of gateJob.steps) expect(step.run).not.toContain('${{')
    }
    const gateJob = workflow.jobs[gateOf(grouped[0][1])!.name]
    const refused = runGate(gateJob, { author: 'visitor', body: '/canary rollback' })
    expect(refused.outputs).toEqual({ allowed: 'false' })
    expect(refused.calls).toContain(
      'api --method POST repos/octo-org/bookinfo/issues/comments/555/reactions -f content=-1'
    )
    const stranger = runGate(gateJob, { author: 'someone-new', body: '/canary rollback' })
    expect(stranger.outputs).toEqual({ allowed: 'false' })
    const bot = runGate(gateJob, { author: 'renovate[bot]', type: 'Bot', body: '/canary advance' })
    expect(bot).toEqual({ outputs: { allowed: 'false' }, calls: [] })
  })
})
