/**
 * The PR comment the way a reviewer sees it: renders a run report (by default a rollback: the demo's faulty
 * v3, in test/report/fixtures/rollback-report.json) to the comment's Markdown, to HTML with cmark-gfm (the
 * renderer GitHub's is built on) in GitHub-like styles, and to a screenshot from headless Chromium at the
 * width of a pull request's comment column.
 *
 *   npx tsx scripts/comment-preview.ts [--report FILE] [--out DIR] [--width PX] [--height PX] [--open]
 *
 * --open expands the collapsed sections (history, routing diff, warnings). Writes comment.md, comment.html and
 * comment.png to DIR (default demo-output/comment-preview). cmark-gfm comes from scripts/test-tools.sh,
 * Chromium from scripts/preview-tools.sh (both unpack Debian packages into .tools/, no root needed).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { renderReport, reportMarker } from '../src/report/render-markdown.js'
import type { RunReport } from '../src/report/types.js'
import { renderGfm } from '../testkit/markdown/cmark-gfm.js'
import { PROJECT_ROOT } from '../testkit/run-action.js'

interface Options {
  report: string
  out: string
  /** CSS pixels: the comment body of a PR's conversation column on a 1280px-wide window. */
  width: number
  height: number
  open: boolean
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    report: path.join(PROJECT_ROOT, 'test', 'report', 'fixtures', 'rollback-report.json'),
    out: path.join(PROJECT_ROOT, 'demo-output', 'comment-preview'),
    width: 780,
    height: 1000,
    open: false
  }
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? fail(`${argv[i - 1]} needs a value`)
    switch (argv[i]) {
      case '--report':
        options.report = path.resolve(value())
        break
      case '--out':
        options.out = path.resolve(value())
        break
      case '--width':
        options.width = Number(value())
        break
      case '--height':
        options.height = Number(value())
        break
      case '--open':
        options.open = true
        break
      default:
        fail(`unknown argument: ${argv[i]}`)
    }
  }
  if (!(options.width > 0 && options.height > 0)) fail('--width and --height must be positive numbers')
  return options
}

function fail(message: string): never {
  process.stderr.write(
    `${message}\nusage: npx tsx scripts/comment-preview.ts [--report FILE] [--out DIR] [--width PX] [--height PX] [--open]\n`
  )
  process.exit(2)
}

/** The parts of github.com's Markdown styles that decide layout: fonts, spacing, tables that scroll. */
const STYLE = `
body { margin: 0; background: #fff; }
.comment { box-sizing: border-box; padding: 16px; color: #1f2328; word-wrap: break-word;
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif,
    "Noto Color Emoji"; }
h3 { font-size: 1.25em; margin: 24px 0 16px; } h4 { font-size: 1em; margin: 24px 0 16px; }
p, blockquote, table, pre, details, ul { margin: 0 0 16px; }
table { display: block; width: max-content; max-width: 100%; overflow: auto; border-spacing: 0;
  border-collapse: collapse; }
td, th { padding: 6px 13px; border: 1px solid #d1d9e0; } th { font-weight: 600; }
tr:nth-child(2n) { background: #f6f8fa; }
code { padding: .2em .4em; font-size: 85%; background: rgba(129, 139, 152, .12); border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
pre { padding: 16px; overflow: auto; background: #f6f8fa; border-radius: 6px; }
pre code { padding: 0; background: none; }
blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
sub { font-size: 75%; } summary { cursor: pointer; }
`

function page(html: string, width: number): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><style>${STYLE}.comment { width: ${width}px; }</style></head>\n<body><div class="comment">\n${html}</div></body></html>\n`
}

function chromium(): string {
  return execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'preview-tools.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  }).trim()
}

function screenshot(htmlFile: string, pngFile: string, options: Options): void {
  const binary = path.resolve(PROJECT_ROOT, chromium())
  const root = path.resolve(PROJECT_ROOT, '.tools', 'chromium')
  const libraries = path.join(
    root,
    'usr',
    'lib',
    `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`
  )
  const profile = mkdtempSync(path.join(os.tmpdir(), 'comment-preview-'))
  try {
    execFileSync(
      binary,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        `--window-size=${options.width},${options.height}`,
        `--screenshot=${pngFile}`,
        `file://${htmlFile}`
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          LD_LIBRARY_PATH: [libraries, path.join(libraries, 'pulseaudio'), process.env.LD_LIBRARY_PATH]
            .filter(Boolean)
            .join(':'),
          FONTCONFIG_FILE: path.join(root, 'fonts.conf')
        },
        timeout: 120_000
      }
    )
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

function main(): void {
  const options = parseArgs(process.argv.slice(2))
  execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'test-tools.sh')], { stdio: 'inherit' })
  const report = JSON.parse(readFileSync(options.report, 'utf8')) as RunReport
  const markdown = renderReport(report, { marker: reportMarker(report.namespace, report.service) })
  let html = renderGfm(markdown)
  if (options.open) html = html.replace(/<details>/g, '<details open>')
  mkdirSync(options.out, { recursive: true })
  const files = {
    markdown: path.join(options.out, 'comment.md'),
    html: path.join(options.out, 'comment.html'),
    png: path.join(options.out, 'comment.png')
  }
  writeFileSync(files.markdown, markdown)
  // The page is as wide as the comment column: a table wider than that scrolls, as on github.com.
  writeFileSync(files.html, page(html, options.width))
  screenshot(files.html, files.png, options)
  process.stdout.write(`${files.markdown}\n${files.html}\n${files.png}\n`)
}

main()
