/**
 * CHANGELOG.md stays in the form the release workflow reads, and scripts/release-notes.ts gives a release exactly
 * its version's entry.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { changelogProblems, parseChangelog, releaseNotes } from '../../scripts/release-notes.js'

const root = process.cwd()
const read = (file: string) => readFileSync(path.join(root, file), 'utf8')

const SAMPLE = `# Changelog

Intro text, not part of any entry.

## [Unreleased]

## [1.1.0] - 2026-12-20

### Added

- \`retry\` command.

### Fixed

- A fix, with an example:

  \`\`\`yaml
  ## not a heading: inside a code block
  stages: []
  \`\`\`

## [1.0.1] - 2026-12-10

### Fixed

- The one fix of 1.0.1.

## [1.0.0] - 2026-12-01

### Added

- Everything.

[Unreleased]: ../../compare/v1.1.0...HEAD
[1.1.0]: ../../compare/v1.0.1...v1.1.0
[1.0.1]: ../../compare/v1.0.0...v1.0.1
[1.0.0]: ../../releases/tag/v1.0.0
`

describe('release notes', () => {
  it("are the tagged version's entry, without its heading, the next entry or the link definitions", () => {
    expect(releaseNotes(SAMPLE, 'v1.0.1')).toBe('### Fixed\n\n- The one fix of 1.0.1.\n')
    expect(releaseNotes(SAMPLE, 'v1.0.0')).toBe('### Added\n\n- Everything.\n')
  })

  it('keep code blocks whole, even lines that look like headings', () => {
    const notes = releaseNotes(SAMPLE, 'v1.1.0')
    expect(notes).toContain('  ## not a heading: inside a code block\n  stages: []\n  ```\n')
    expect(notes.startsWith('### Added\n\n- `retry` command.\n\n### Fixed\n')).toBe(true)
    expect(notes).not.toContain('1.0.1')
  })

  it.each(['1.0.0', 'v1.0', 'v1.0.0-rc.1', 'v1', 'release-1.0.0'])('refuse the tag %p', tag => {
    expect(() => releaseNotes(SAMPLE, tag)).toThrow(`'${tag}' is not a release tag of the form v1.2.3`)
  })

  it('refuse a version without an entry, saying how to add it', () => {
    expect(() => releaseNotes(SAMPLE, 'v1.2.0')).toThrow(
      "no entry for 1.2.0: before tagging, rename '## [Unreleased]' to '## [1.2.0] - YYYY-MM-DD'"
    )
  })

  it('refuse a changelog that is not in the expected form', () => {
    const undated = SAMPLE.replace('## [1.0.1] - 2026-12-10', '## [1.0.1]')
    expect(() => releaseNotes(undated, 'v1.1.0')).toThrow(
      "line 22: [1.0.1] needs its release date: '## [1.0.1] - YYYY-MM-DD'"
    )
  })
})

describe('changelog form', () => {
  it('accepts the sample, with an empty Unreleased entry', () => {
    expect(changelogProblems(SAMPLE)).toEqual([])
    expect(parseChangelog(SAMPLE).entries.map(entry => [entry.version, entry.date])).toEqual([
      ['Unreleased', undefined],
      ['1.1.0', '2026-12-20'],
      ['1.0.1', '2026-12-10'],
      ['1.0.0', '2026-12-01']
    ])
  })

  it.each([
    [
      'a level-2 heading that is not a version',
      SAMPLE.replace('## [1.0.0] - 2026-12-01', '## 1.0.0'),
      ["line 28: '## 1.0.0' is not a version heading; write '## [Unreleased]' or '## [1.2.3] - YYYY-MM-DD'"]
    ],
    [
      'versions out of order',
      SAMPLE.replace(
        '## [1.0.1] - 2026-12-10',
        '## [1.0.1] - 2026-12-10\n\n- x\n\n## [1.0.2] - 2026-12-10'
      ).replace('[1.0.1]: ', '[1.0.2]: x\n[1.0.1]: '),
      ['line 26: [1.0.2] must come after the newer versions above it, not after line 22']
    ],
    [
      'a newer version dated before an older one',
      SAMPLE.replace('2026-12-10', '2026-12-24'),
      ['line 22: [1.0.1] is dated after the newer version at line 7']
    ],
    [
      'an impossible date',
      SAMPLE.replace('2026-12-10', '2026-02-30'),
      ["line 22: [1.0.1] needs its release date: '## [1.0.1] - YYYY-MM-DD'"]
    ],
    [
      'Unreleased below a version',
      SAMPLE.replace('## [Unreleased]\n\n', '').replace(
        '- Everything.\n',
        '- Everything.\n\n## [Unreleased]\n'
      ),
      ['line 32: [Unreleased] must be the first entry']
    ],
    [
      'a section Keep a Changelog does not name',
      SAMPLE.replace('### Fixed\n\n- The one', '### Improvements\n\n- The one'),
      [
        "line 22: [1.0.1] has a section 'Improvements'; use Added, Changed, Deprecated, Removed, Fixed, Security"
      ]
    ],
    [
      'an empty released version',
      SAMPLE.replace('### Fixed\n\n- The one fix of 1.0.1.\n', ''),
      ['line 22: [1.0.1] is empty']
    ],
    [
      'a version without a link definition',
      SAMPLE.replace('[1.0.1]: ../../compare/v1.0.0...v1.0.1\n', ''),
      ["line 22: [1.0.1] has no link definition '[1.0.1]: …' at the end of the file"]
    ],
    [
      'a version twice',
      SAMPLE.replace('## [1.0.1] - 2026-12-10', '## [1.0.0] - 2026-12-10'),
      [
        'line 28: [1.0.0] must come after the newer versions above it, not after line 22',
        'line 28: [1.0.0] appears twice'
      ]
    ]
  ])('reports %s', (_what, text, problems) => {
    expect(changelogProblems(text)).toEqual(problems)
  })
})

describe('scripts/release-notes.ts on the command line', () => {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx')
  const run = (...args: string[]) =>
    spawnSync(tsx, ['scripts/release-notes.ts', ...args], { cwd: root, encoding: 'utf8' })
  const scratch = mkdtempSync(path.join(tmpdir(), 'changelog-'))
  const file = path.join(scratch, 'CHANGELOG.md')
  writeFileSync(file, SAMPLE)
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('prints the notes of the tag', () => {
    const result = run('v1.0.1', file)
    expect([result.status, result.stdout, result.stderr]).toEqual([
      0,
      '### Fixed\n\n- The one fix of 1.0.1.\n',
      ''
    ])
  })

  it('exits 1 naming the file and the problem', () => {
    const result = run('v2.0.0', file)
    expect(result.status).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`${file}: no entry for 2.0.0`)
  })

  it('exits 2 with its usage when no tag is given', () => {
    const result = run()
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('usage: release-notes.ts <tag')
  })
})

describe('CHANGELOG.md', () => {
  const text = read('CHANGELOG.md')
  const { entries } = parseChangelog(text)
  const released = entries.filter(entry => entry.version !== 'Unreleased')

  it('is in the form the release workflow reads', () => {
    expect(changelogProblems(text)).toEqual([])
  })

  it('starts with the Unreleased entry', () => {
    expect(entries[0].version).toBe('Unreleased')
  })

  it("names package.json's version as its newest release, once there is a release", () => {
    const { version } = JSON.parse(read('package.json')) as { version: string }
    if (released.length === 0) expect(version).toMatch(/^0\./)
    else expect(released[0].version).toBe(version)
  })
})
