/**
 * The last line of defence before anything is published (the report file, the job summary, the PR comment,
 * the commit status, the log): every registered secret is replaced by `***`, and so is every beginning of
 * one that is 8 characters or longer, which is what is left when a message quoting a secret was cut short.
 * The runner masks whole secrets in the log only, never a cut one.
 */

/** Shorter values are not treated as secrets (an empty password, `1`). */
const MIN_SECRET_CHARS = 4
/** A cut secret shorter than this is not scrubbed: too likely to be ordinary text. */
export const MIN_PREFIX_CHARS = 8
const MASK = '***'

/** Scrubs `text` of the given secrets and of their beginnings of MIN_PREFIX_CHARS or more. */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  const candidates = [...new Set(secrets)]
    .filter(secret => secret.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length)
  // Whole secrets first, so that one secret's beginning never eats into another whole one.
  let out = candidates.reduce((scrubbed, secret) => scrubbed.split(secret).join(MASK), text)
  for (const secret of candidates) {
    if (secret.length > MIN_PREFIX_CHARS) out = scrubPrefixes(out, secret)
  }
  return out
}

/** Replaces each run of text that equals the first MIN_PREFIX_CHARS or more characters of `secret`. */
function scrubPrefixes(text: string, secret: string): string {
  const head = secret.slice(0, MIN_PREFIX_CHARS)
  let out = ''
  let from = 0
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, from)) {
    let length = MIN_PREFIX_CHARS
    while (length < secret.length && text[at + length] === secret[length]) length++
    out += text.slice(from, at) + MASK
    from = at + length
  }
  return out + text.slice(from)
}

/** The secrets of one run. Multi-line secrets (keys, certificates) are also registered line by line. */
export class SecretRegistry {
  private readonly secrets = new Set<string>()

  add(secret: string | undefined): void {
    if (!secret) return
    this.secrets.add(secret)
    for (const line of secret.split(/\r?\n/)) {
      if (line.trim().length >= MIN_PREFIX_CHARS) this.secrets.add(line.trim())
    }
  }

  scrub(text: string): string {
    return scrubSecrets(text, this.secrets)
  }

  /** A copy of `value` with every string in it scrubbed (for JSON written to a file). */
  scrubDeep<T>(value: T): T {
    if (typeof value === 'string') return this.scrub(value) as T
    if (Array.isArray(value)) return value.map(item => this.scrubDeep(item)) as T
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.scrubDeep(item)])) as T
    }
    return value
  }
}

/** The secrets of this process's run: the action registers every secret it masks here too. */
export const runSecrets = new SecretRegistry()
