/**
 * What publishing the action rests on: the license, the Marketplace metadata, the release workflow (its triggers,
 * permissions and reused checks, and its shell steps run here against scratch git repositories), the dist/ check's
 * instructions, Dependabot, the Node versions, and the contributor guide.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'

const root = process.cwd()
/** Every scratch folder of this file lives here, removed at the end. */
const scratchRoot = mkdtempSync(path.join(tmpdir(), 'publishing-test-'))
const scratchDir = (prefix: string) => mkdtempSync(path.join(scratchRoot, prefix))
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }))
const read = (file: string) => readFileSync(path.join(root, file), 'utf8')
const yaml = <T>(file: string) => parseYaml(read(file)) as T

interface Step {
  id?: string
  name?: string
  uses?: string
  run?: string
  if?: string
  env?: Record<string, string>
}
interface Job {
  uses?: string
  needs?: string | string[]
  permissions?: Record<string, string>
  steps?: Step[]
  strategy?: { matrix?: Record<string, unknown[]> }
}
interface Workflow {
  on: Record<string, unknown>
  permissions?: Record<string, string>
  jobs: Record<string, Job>
}

const packageJson = JSON.parse(read('package.json')) as {
  license: string
  engines: { node: string }
  devDependencies: Record<string, string>
}
const action = yaml<{
  name: string
  description: string
  branding: { icon: string; color: string }
  runs: { using: string }
}>('action.yml')
const release = yaml<Workflow>('.github/workflows/release.yml')
const ci = yaml<Workflow>('.github/workflows/ci.yml')
const checkDist = yaml<Workflow>('.github/workflows/check-dist.yml')

describe('LICENSE', () => {
  const license = read('LICENSE')

  it("is the MIT license package.json declares, the project's maintainers holding the copyright", () => {
    expect(packageJson.license).toBe('MIT')
    expect(license.split('\n').slice(0, 3)).toEqual([
      'MIT License',
      '',
      'Copyright (c) 2026 The istio-canary-action maintainers'
    ])
    expect(license.replace(/\s+/g, ' ')).toContain(
      'Permission is hereby granted, free of charge, to any person obtaining a copy of this software'
    )
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND')
  })
})

describe('Marketplace metadata in action.yml', () => {
  it('has a name of its own, not the generic one it had', () => {
    expect(action.name).toBe('Istio Canary Ladder')
  })

  it('has a description under the Marketplace limit of 125 characters', () => {
    expect(action.description.length).toBeLessThan(125)
  })

  it('keeps its branding, with an icon and a colour the Marketplace accepts', () => {
    expect(action.branding).toEqual({ icon: 'git-branch', color: 'blue' })
    const colours = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark']
    expect(colours).toContain(action.branding.color)
  })
})

describe('Node versions', () => {
  const runtimeMajor = /^node(\d+)$/.exec(action.runs.using)?.[1]

  it("types the Node the action runs on and bundles it on that Node's major", () => {
    expect(runtimeMajor).toBe('24')
    expect(packageJson.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${runtimeMajor}\\.`))
    const setupNode = checkDist.jobs['check-dist'].steps?.find(step =>
      step.uses?.startsWith('actions/setup-node')
    )
    expect(setupNode).toMatchObject({ with: { 'node-version': Number(runtimeMajor) } })
  })

  it('states the development minimum and tests on it and on the runtime', () => {
    expect(packageJson.engines.node).toBe('^20.19.0 || ^22.13.0 || >=24')
    expect(ci.jobs.test.strategy?.matrix?.node).toEqual([20, Number(runtimeMajor)])
  })
})

describe('release workflow', () => {
  const jobs = release.jobs

  it('runs for a pushed version tag and for nothing else', () => {
    expect(release.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } })
  })

  it('grants nothing by default, reads in every job but the one that publishes', () => {
    expect(release.permissions).toEqual({})
    expect(Object.fromEntries(Object.entries(jobs).map(([name, job]) => [name, job.permissions]))).toEqual({
      tag: { contents: 'read' },
      ci: { contents: 'read' },
      dist: { contents: 'read' },
      release: { contents: 'write' }
    })
    for (const workflow of [ci, checkDist]) expect(workflow.permissions).toEqual({ contents: 'read' })
  })

  it("runs CI's own checks and the dist/ check, reused as they are, before it publishes", () => {
    expect(jobs.ci.uses).toBe('./.github/workflows/ci.yml')
    expect(jobs.dist.uses).toBe('./.github/workflows/check-dist.yml')
    expect(ci.on).toHaveProperty('workflow_call')
    expect(checkDist.on).toHaveProperty('workflow_call')
    expect(jobs.release.needs).toEqual(['tag', 'ci', 'dist'])
  })

  it('takes the notes from the changelog with scripts/release-notes.ts and gives them to the release', () => {
    const notes = jobs.tag.steps?.find(step => step.id === 'notes')
    expect(notes?.run).toContain('npx tsx scripts/release-notes.ts "$TAG"')
    expect(notes?.env).toEqual({ TAG: '${{ github.ref_name }}' })
    const publish = jobs.release.steps?.[0]
    expect(publish?.env?.NOTES).toBe('${{ needs.tag.outputs.notes }}')
    expect(publish?.run).toContain('--notes-file "$RUNNER_TEMP/notes.md"')
  })
})

/** Runs a workflow step's script as the runner does (`bash -e`), in `cwd`, with `env` added. */
function runStep(step: Step | undefined, cwd: string, env: Record<string, string>) {
  if (!step?.run) throw new Error('no such step')
  const script = path.join(scratchDir('step-'), 'step.sh')
  writeFileSync(script, step.run)
  return spawnSync('bash', ['-e', script], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' })
}

const gitEnv = {
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1'
}
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: { ...process.env, ...gitEnv }, encoding: 'utf8' }).trim()

/** Reads the `name=value` lines a step appended to GITHUB_OUTPUT. */
const outputs = (file: string) =>
  Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => line.split(/=(.*)/s).slice(0, 2))
  )

describe("release workflow's tag check", () => {
  const step = release.jobs.tag.steps?.find(candidate => candidate.id === 'tag')

  const scratch = scratchDir('release-')
  const work = path.join(scratch, 'work')
  let commit: (version: string) => void

  // origin has main (1.0.0, 1.1.0, 2.0.0) and releases/v1 (1.1.1 after 1.1.0).
  beforeAll(() => {
    const origin = path.join(scratch, 'origin.git')
    git(scratch, 'init', '-q', '--bare', '--initial-branch=main', origin)
    git(scratch, 'init', '-q', '--initial-branch=main', work)
    git(work, 'remote', 'add', 'origin', origin)
    commit = (version: string) => {
      writeFileSync(path.join(work, 'package.json'), JSON.stringify({ version }) + '\n')
      git(work, 'add', 'package.json')
      git(work, 'commit', '-q', '-m', version)
      git(work, 'tag', `v${version}`)
    }
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) commit(version)
    git(work, 'checkout', '-q', '-b', 'releases/v1', 'v1.1.0')
    commit('1.1.1')
    git(work, 'push', '-q', 'origin', 'main', 'releases/v1', '--tags')
    git(work, 'fetch', '-q', 'origin')
  })

  const check = (tag: string) => {
    git(work, 'checkout', '-q', tag)
    const output = path.join(scratch, `${tag}.out`)
    writeFileSync(output, '')
    const result = runStep(step, work, { TAG: tag, GITHUB_OUTPUT: output })
    return { status: result.status, stdout: result.stdout, outputs: outputs(output) }
  }

  it('moves the major tag and marks the release latest for the newest version', () => {
    expect(check('v2.0.0')).toMatchObject({
      status: 0,
      outputs: {
        commit: git(work, 'rev-parse', 'v2.0.0^{commit}'),
        major: '2',
        'move-major': 'true',
        latest: 'true'
      }
    })
  })

  it('accepts a fix of an older major from its maintenance branch: moves that major, not latest', () => {
    expect(check('v1.1.1').outputs).toMatchObject({ major: '1', 'move-major': 'true', latest: 'false' })
  })

  it('leaves the major tag alone for a version older than the newest of its major', () => {
    expect(check('v1.0.0').outputs).toMatchObject({ major: '1', 'move-major': 'false', latest: 'false' })
  })

  it('refuses a tag outside main and the maintenance branch of its major', () => {
    git(work, 'checkout', '-q', '-b', 'experiment', 'main')
    commit('2.0.1')
    const result = check('v2.0.1')
    git(work, 'tag', '-d', 'v2.0.1')
    expect(result).toMatchObject({
      status: 1,
      stdout: expect.stringContaining('::error::v2.0.1 is on neither main nor releases/v2'),
      outputs: {}
    })
  })

  it("refuses a tag that is not package.json's version, saying how to set it", () => {
    git(work, 'tag', 'v2.1.0', 'main')
    const result = check('v2.1.0')
    git(work, 'tag', '-d', 'v2.1.0')
    expect(result).toMatchObject({
      status: 1,
      stdout: expect.stringContaining(
        "::error::v2.1.0 does not match package.json's version 2.0.0; set it with 'npm version --no-git-tag-version 2.1.0'"
      ),
      outputs: {}
    })
  })
})

describe("release workflow's major tag step", () => {
  const steps = release.jobs.release.steps ?? []
  const move = steps.find(step => step.name === 'Move the major tag to this release')

  /** A `gh` that logs its arguments, knows whether the major tag exists, and fails writes when asked to. */
  const fakeGh = (tagExists: boolean, refuseWrites: boolean) => {
    const bin = scratchDir('gh-')
    const log = path.join(bin, 'calls')
    writeFileSync(
      path.join(bin, 'gh'),
      [
        '#!/bin/bash',
        `echo "$*" >> '${log}'`,
        'case "$*" in',
        `  'api repos/o/r/git/ref/tags/v1') exit ${tagExists ? 0 : 1} ;;`,
        `  *--method*) ${refuseWrites ? 'echo "HTTP 403" >&2; exit 1' : 'exit 0'} ;;`,
        'esac'
      ].join('\n') + '\n'
    )
    chmodSync(path.join(bin, 'gh'), 0o755)
    const result = runStep(move, bin, {
      PATH: `${bin}:${process.env.PATH}`,
      GH_REPO: 'o/r',
      TAG: 'v1.2.3',
      MAJOR_TAG: 'v1',
      COMMIT: 'abc123'
    })
    return { ...result, calls: readFileSync(log, 'utf8').trim().split('\n') }
  }

  it('runs only when the tag job says so, with the optional token that may move tags onto workflow changes', () => {
    expect(move?.if).toBe("needs.tag.outputs.move-major == 'true'")
    expect(move?.env?.GH_TOKEN).toBe('${{ secrets.RELEASE_TAG_TOKEN || github.token }}')
  })

  it('moves an existing major tag by force', () => {
    const result = fakeGh(true, false)
    expect(result.status).toBe(0)
    expect(result.calls).toEqual([
      'api repos/o/r/git/ref/tags/v1',
      'api --method PATCH repos/o/r/git/refs/tags/v1 -f sha=abc123 -F force=true'
    ])
  })

  it('creates the major tag of a new major', () => {
    const result = fakeGh(false, false)
    expect(result.status).toBe(0)
    expect(result.calls[1]).toBe('api --method POST repos/o/r/git/refs -f ref=refs/tags/v1 -f sha=abc123')
  })

  it('fails, with the commands to move it by hand, when GitHub refuses', () => {
    const result = fakeGh(true, true)
    expect(result.status).toBe(1)
    expect(result.stdout).toContain(
      '::error::could not move v1 to v1.2.3. Move it by hand: git fetch --tags --force && git tag -f v1 v1.2.3^{commit} && git push -f origin refs/tags/v1'
    )
  })
})

describe('the dist/ check', () => {
  const commands = ['npm ci', 'npm run package', 'git add dist', 'git commit -m "Rebuild dist"']
  const step = checkDist.jobs['check-dist'].steps?.at(-1)

  const repository = (changeDist: boolean) => {
    const dir = scratchDir('dist-')
    mkdirSync(path.join(dir, 'dist'))
    writeFileSync(path.join(dir, 'dist', 'index.js'), 'bundle\n')
    git(dir, 'init', '-q')
    git(dir, 'add', '.')
    git(dir, 'commit', '-q', '-m', 'x')
    if (changeDist) writeFileSync(path.join(dir, 'dist', 'index.js'), 'fresh bundle\n')
    const summary = path.join(dir, 'summary.md')
    writeFileSync(summary, '')
    const env = { BRANCH: 'dependabot/npm_and_yarn/npm-minor-and-patch-0123', GITHUB_STEP_SUMMARY: summary }
    return { ...runStep(step, dir, env), summary: readFileSync(summary, 'utf8') }
  }

  it('passes when dist/ is what the source builds to', () => {
    expect(repository(false)).toMatchObject({ status: 0, summary: '' })
  })

  it('fails in CI saying, in the log and the job summary, what to run on which branch and commit', () => {
    const result = repository(true)
    expect(result.status).toBe(1)
    expect(result.summary).toContain('`dependabot/npm_and_yarn/npm-minor-and-patch-0123`')
    for (const command of [...commands, 'git push']) {
      expect(result.summary).toContain(`\n${command}\n`)
      expect(result.stdout).toContain(`\n${command}\n`)
    }
    expect(result.stdout).toContain(
      "::error title=dist/ is out of date::run 'npm ci && npm run package' on dependabot/npm_and_yarn/npm-minor-and-patch-0123"
    )
  })

  it('ships a CLI bundle without the GitHub toolkit: the CLI talks to the cluster only', () => {
    const cliLicenses = read('dist/cli/licenses.txt')
    expect(cliLicenses).toContain('@kubernetes/client-node')
    expect(cliLicenses).not.toMatch(/^@actions\//m)
    expect(read('dist/licenses.txt')).toMatch(/^@actions\/core$/m)
  })

  it('gives the same commands in .ci/run', () => {
    const ciRun = read('.ci/run')
    for (const command of commands) expect(ciRun).toContain(`\n  ${command}\n`)
  })
})

describe('Dependabot', () => {
  interface Update {
    'package-ecosystem': string
    groups?: Record<string, { patterns?: string[]; 'update-types'?: string[] }>
    ignore?: { 'dependency-name': string; 'update-types'?: string[] }[]
  }
  const { version, updates } = yaml<{ version: number; updates: Update[] }>('.github/dependabot.yml')
  const ecosystem = (name: string) => updates.find(update => update['package-ecosystem'] === name)

  it('updates npm packages and GitHub Actions', () => {
    expect(version).toBe(2)
    expect(updates.map(update => update['package-ecosystem'])).toEqual(['npm', 'github-actions'])
  })

  it('groups every minor and patch npm update in one pull request', () => {
    expect(Object.values(ecosystem('npm')?.groups ?? {})).toEqual([
      { patterns: ['*'], 'update-types': ['minor', 'patch'] }
    ])
  })

  it("keeps @types/node on the action runtime's major", () => {
    expect(ecosystem('npm')?.ignore).toEqual([
      { 'dependency-name': '@types/node', 'update-types': ['version-update:semver-major'] }
    ])
  })
})

describe('CONTRIBUTING.md', () => {
  const guide = read('CONTRIBUTING.md')

  it.each([
    'npm ci',
    'npm test',
    'npm run all',
    'npm run demo',
    'npm run bench',
    'npx tsx testkit/kube-api/standalone.ts',
    'git add dist',
    'npm version --no-git-tag-version X.Y.Z',
    'npx tsx scripts/release-notes.ts vX.Y.Z',
    'releases/v1',
    'RELEASE_TAG_TOKEN',
    '](SECURITY.md)'
  ])('covers %s', text => {
    expect(guide).toContain(text)
  })

  it("documents every option of the Kubernetes API double's standalone mode", () => {
    const usage = /usage: standalone\.ts (.*)\\n/.exec(read('testkit/kube-api/standalone.ts'))?.[1] ?? ''
    const options = [...usage.matchAll(/--[a-z-]+/g)].map(([option]) => option)
    expect(options.length).toBeGreaterThan(4)
    for (const option of options) expect(guide).toContain(`${option} `)
  })

  it('links only to its own sections that exist', () => {
    const slugs = new Set(
      [...guide.matchAll(/^#{2,4} (.+)$/gm)].map(([, title]) =>
        title
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replaceAll(' ', '-')
      )
    )
    const anchors = [...guide.matchAll(/\]\(#([^)]+)\)/g)].map(([, anchor]) => anchor)
    expect(anchors.length).toBeGreaterThan(10)
    expect(anchors.filter(anchor => !slugs.has(anchor))).toEqual([])
    expect(slugs.has('versions')).toBe(true) // CHANGELOG.md links to it
  })
})
