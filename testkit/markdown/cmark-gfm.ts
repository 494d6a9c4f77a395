/**
 * GitHub Flavored Markdown to HTML with cmark-gfm, the renderer GitHub's own is built on: the unpacked
 * Debian package in .tools/ (scripts/test-tools.sh), else `cmark-gfm` on PATH. Raw HTML is kept (GitHub keeps
 * `<details>`, `<sub>`…) with the GFM tag filter, as on github.com. Free of jest.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { PROJECT_ROOT } from '../run-action.js'

const UNPACKED = path.join(PROJECT_ROOT, '.tools', 'cmark-gfm', 'usr')

function command(): { file: string; env: NodeJS.ProcessEnv } {
  const unpacked = path.join(UNPACKED, 'bin', 'cmark-gfm')
  if (!existsSync(unpacked)) return { file: 'cmark-gfm', env: process.env }
  const libraries = readdirSync(path.join(UNPACKED, 'lib')).map(dir => path.join(UNPACKED, 'lib', dir))
  const inherited = process.env.LD_LIBRARY_PATH ? [process.env.LD_LIBRARY_PATH] : []
  return { file: unpacked, env: { ...process.env, LD_LIBRARY_PATH: [...libraries, ...inherited].join(':') } }
}

export function renderGfm(markdown: string): string {
  const { file, env } = command()
  const extensions = ['table', 'autolink', 'strikethrough', 'tagfilter', 'tasklist'].flatMap(name => [
    '-e',
    name
  ])
  return execFileSync(file, [...extensions, '--unsafe'], { input: markdown, env, encoding: 'utf8' })
}
