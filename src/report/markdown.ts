/**
 * Putting text the action does not control (plan text, values from the cluster, messages from servers and
 * commenters) into GitHub Markdown so that it shows exactly as written: no links, images, emphasis, code,
 * tables, HTML, `@` mentions or `#` references can come out of it.
 *
 * Backslash escapes stop Markdown syntax, but GitHub turns mentions, issue references and e-mail addresses
 * into links after the Markdown is rendered, from the plain text. Those are broken up with an invisible
 * WORD JOINER (U+2060) instead, which no link pattern accepts.
 */

const WORD_JOINER = '\u2060'

/** ASCII punctuation that means something in GitHub Markdown (CommonMark, GFM tables and strikethrough, math). */
const MARKDOWN_PUNCTUATION = /[\\`*_[\]<>&|~!#$]/g

/** `@user`, `@org/team`, `a@b.example` (a mention or an e-mail autolink). */
const AT_SIGN = /@(?=[\p{L}\p{N}_])/gu
/** `#123`, `owner/repo#123`, `GH-123`. */
const ISSUE_REFERENCE = /(#|\bGH-)(?=\d)/gi
/** `https://…`, `ftp://…`: bare URLs GFM would turn into links. */
const URL_SCHEME = /\b([a-z][a-z0-9+.-]*):(?=\/\/)/gi
/** `www.example.com`: GFM links these too. */
const WWW = /\b(www)\.(?=\S)/gi
/** What makes a line a block (list item, heading, quote, setext underline) when it starts with it. */
const BLOCK_START = /^(\s*)([-+=>]|\d+(?=[.)]))/

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Mentions, issue references and e-mail addresses in plain text, made inert. */
export function breakReferences(text: string): string {
  return text.replace(AT_SIGN, `@${WORD_JOINER}`).replace(ISSUE_REFERENCE, `$1${WORD_JOINER}`)
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ')
}

/**
 * Foreign text for an inline Markdown context (a paragraph, a table cell, a list item, a quote): one line,
 * rendered exactly as written. Safe inside GFM table cells (pipes are escaped).
 */
export function escapeMarkdown(text: string): string {
  const escaped = oneLine(text)
    .replace(MARKDOWN_PUNCTUATION, character => `\\${character}`)
    .replace(URL_SCHEME, '$1\\:')
    .replace(WWW, '$1\\.')
    .replace(BLOCK_START, (_, space: string, marker: string) =>
      /^\d/.test(marker) ? `${space}${marker}\\` : `${space}\\${marker}`
    )
  return breakReferences(escaped)
}

/**
 * Foreign text for an HTML context, such as a `<summary>` (GitHub does not parse Markdown inside HTML
 * blocks, but still links mentions and references).
 */
export function escapeHtmlText(text: string): string {
  return breakReferences(escapeHtml(oneLine(text)))
}

function longestBacktickRun(text: string): number {
  return (text.match(/`+/g) ?? []).reduce((longest, run) => Math.max(longest, run.length), 0)
}

/**
 * A code span that shows the text literally, whatever backticks it holds. In a GFM table a pipe ends the cell
 * even inside a code span, so there pipes are escaped (the table parser removes the backslash).
 */
export function codeSpan(text: string, options: { inTable?: boolean } = {}): string {
  let clean = oneLine(text)
  if (options.inTable) clean = clean.replace(/\|/g, '\\|')
  const fence = '`'.repeat(longestBacktickRun(clean) + 1)
  const pad = clean.startsWith('`') || clean.endsWith('`') || clean === '' ? ' ' : ''
  return `${fence}${pad}${clean}${pad}${fence}`
}

/** A fenced code block that the text cannot close early. */
export function codeBlock(text: string, info = ''): string {
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(text) + 1))
  return `${fence}${info}\n${text.replace(/\n$/, '')}\n${fence}`
}

/** At most `max` characters, cut with an ellipsis; cut before escaping so no escape is split. */
export function bounded(text: string, max: number): string {
  const single = oneLine(text).trim()
  return single.length > max ? `${single.slice(0, max - 1)}…` : single
}
