/**
 * The notes of a GitHub release: the version's entry in CHANGELOG.md, without its heading and link definitions.
 *
 *   npx tsx scripts/release-notes.ts v1.2.3 [CHANGELOG.md]
 *
 * Prints the notes on stdout. Exits 1, naming the problem, when the changelog is not in the form CONTRIBUTING.md
 * describes (Keep a Changelog, newest first) or has no dated entry for that version. The release workflow runs it.
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

export interface ChangelogEntry {
  /** `Unreleased`, or a version such as `1.2.3`. */
  version: string
  /** `YYYY-MM-DD`, for a released version. */
  date?: string
  /** 1-based line of the heading. */
  line: number
  /** The text under the heading, without link definitions, trimmed of blank lines. */
  body: string
}

export interface Changelog {
  entries: ChangelogEntry[]
  /** Link reference definitions, `[label]: target`, by label. */
  links: Map<string, string>
}

const UNRELEASED = 'Unreleased'
const VERSION = /^(\d+)\.(\d+)\.(\d+)$/
const TAG = /^v(\d+\.\d+\.\d+)$/
const HEADING = /^## \[([^\]]+)\](?: - (\S+))?\s*$/
const LINK_DEFINITION = /^\[([^\]]+)\]:\s+(\S+)\s*$/
const FENCE = /^\s*(`{3,}|~{3,})/
/** The kinds of change Keep a Changelog names, the only subsections an entry may have. */
export const CHANGE_KINDS = ['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security']

export class ChangelogError extends Error {}

/** The entries of a changelog, in file order. Throws on a level-2 heading that is not a version heading. */
export function parseChangelog(text: string): Changelog {
  const entries: ChangelogEntry[] = []
  const links = new Map<string, string>()
  let body: string[] = []
  let fence: string | undefined
  const close = () => {
    const entry = entries.at(-1)
    if (entry) entry.body = trimBlankLines(body).join('\n')
    body = []
  }
  text.split(/\r?\n/).forEach((line, index) => {
    const opening = FENCE.exec(line)
    if (fence !== undefined) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length) fence = undefined
      body.push(line)
      return
    }
    if (opening) {
      fence = opening[1]
      body.push(line)
      return
    }
    const link = LINK_DEFINITION.exec(line)
    if (link) {
      links.set(link[1].toLowerCase(), link[2])
      return
    }
    if (!line.startsWith('## ')) {
      body.push(line)
      return
    }
    const heading = HEADING.exec(line)
    if (!heading) {
      throw new ChangelogError(
        `line ${index + 1}: '${line}' is not a version heading; write '## [${UNRELEASED}]' or '## [1.2.3] - YYYY-MM-DD'`
      )
    }
    close()
    entries.push({ version: heading[1], date: heading[2], line: index + 1, body: '' })
  })
  close()
  return { entries, links }
}

/** What is wrong with a changelog, one message per problem; empty when it is in the expected form. */
export function changelogProblems(text: string): string[] {
  let changelog: Changelog
  try {
    changelog = parseChangelog(text)
  } catch (error) {
    if (error instanceof ChangelogError) return [error.message]
    throw error
  }
  const problems: string[] = []
  const { entries, links } = changelog
  if (entries.length === 0) problems.push(`no entries: start with '## [${UNRELEASED}]'`)
  let previous: { version: number[]; date: string; line: number } | undefined
  for (const [index, entry] of entries.entries()) {
    const where = `line ${entry.line}: [${entry.version}]`
    if (entry.version === UNRELEASED) {
      if (index !== 0) problems.push(`${where} must be the first entry`)
      if (entry.date !== undefined) problems.push(`${where} has no date; a date marks a released version`)
    } else {
      const version = parseVersion(entry.version)
      if (version === undefined) {
        problems.push(`${where} is not a version of the form MAJOR.MINOR.PATCH`)
      } else if (entry.date === undefined || !isDate(entry.date)) {
        problems.push(`${where} needs its release date: '## [${entry.version}] - YYYY-MM-DD'`)
      } else {
        if (previous && compareVersions(version, previous.version) >= 0) {
          problems.push(
            `${where} must come after the newer versions above it, not after line ${previous.line}`
          )
        }
        if (previous && entry.date > previous.date) {
          problems.push(`${where} is dated after the newer version at line ${previous.line}`)
        }
        previous = { version, date: entry.date, line: entry.line }
      }
    }
    if (entry.version !== UNRELEASED && entry.body.trim() === '') problems.push(`${where} is empty`)
    for (const kind of entry.body.matchAll(/^### (.*)$/gm)) {
      if (!CHANGE_KINDS.includes(kind[1].trim())) {
        problems.push(`${where} has a section '${kind[1]}'; use ${CHANGE_KINDS.join(', ')}`)
      }
    }
    if (!links.has(entry.version.toLowerCase())) {
      problems.push(`${where} has no link definition '[${entry.version}]: …' at the end of the file`)
    }
  }
  const seen = new Set<string>()
  for (const entry of entries) {
    if (seen.has(entry.version)) problems.push(`line ${entry.line}: [${entry.version}] appears twice`)
    seen.add(entry.version)
  }
  return problems
}

/** The notes of the release tagged `tag` (`v1.2.3`): its changelog entry's body. */
export function releaseNotes(text: string, tag: string): string {
  const version = TAG.exec(tag)?.[1]
  if (version === undefined) throw new ChangelogError(`'${tag}' is not a release tag of the form v1.2.3`)
  const problems = changelogProblems(text)
  if (problems.length > 0)
    throw new ChangelogError(`the changelog is not in the expected form:\n${problems.join('\n')}`)
  const entry = parseChangelog(text).entries.find(candidate => candidate.version === version)
  if (entry === undefined) {
    throw new ChangelogError(
      `no entry for ${version}: before tagging, rename '## [${UNRELEASED}]' to '## [${version}] - YYYY-MM-DD' ` +
        `and add a new empty '## [${UNRELEASED}]' above it`
    )
  }
  return entry.body + '\n'
}

function parseVersion(version: string): number[] | undefined {
  const match = VERSION.exec(version)
  return match ? match.slice(1).map(Number) : undefined
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return 0
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false
  const date = new Date(`${text}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text)
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0
  let end = lines.length
  while (start < end && lines[start].trim() === '') start++
  while (end > start && lines[end - 1].trim() === '') end--
  return lines.slice(start, end)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [tag, file = 'CHANGELOG.md'] = process.argv.slice(2)
  if (tag === undefined) {
    process.stderr.write('usage: release-notes.ts <tag, e.g. v1.2.3> [CHANGELOG.md]\n')
    process.exit(2)
  }
  try {
    process.stdout.write(releaseNotes(readFileSync(file, 'utf8'), tag))
  } catch (error) {
    if (!(error instanceof ChangelogError)) throw error
    process.stderr.write(`${file}: ${error.message}\n`)
    process.exit(1)
  }
}
