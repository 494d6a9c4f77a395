/** Kubernetes name rules and the "did you mean" suggestion for misspelt keys and values. */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_LABEL_LENGTH = 63

/** Why `value` is not a DNS-1123 label (Kubernetes object names, namespaces), or undefined when it is one. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(value)) return undefined
  const lowered = value.toLowerCase()
  const hint = lowered !== value && DNS_LABEL.test(lowered) ? `; try '${lowered}'` : ''
  return (
    `must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, ` +
    `at most ${MAX_LABEL_LENGTH} characters); got '${value}'${hint}`
  )
}

/** Why `value` is not a Kubernetes label value, or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length <= MAX_LABEL_LENGTH && LABEL_VALUE.test(value)) return undefined
  return (
    `must be a Kubernetes label value (letters, digits, '-', '_' and '.', starting and ending with a letter ` +
    `or digit, at most ${MAX_LABEL_LENGTH} characters); got '${value}'`
  )
}

/** Why `value` is not a Kubernetes label key (`name` or `prefix/name`), or undefined when it is one. */
export function labelKeyProblem(value: string): string | undefined {
  const slash = value.lastIndexOf('/')
  const prefix = slash === -1 ? undefined : value.slice(0, slash)
  const name = value.slice(slash + 1)
  const prefixValid = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix))
  if (prefixValid && labelValueProblem(name) === undefined) return undefined
  return `must be a Kubernetes label key such as 'version' or 'example.com/version'; got '${value}'`
}

/** Levenshtein distance, compared case-insensitively so `failurelimit` is one step from `failureLimit`. */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase()
  const right = b.toLowerCase()
  let previousRow = Array.from({ length: right.length + 1 }, (_, index) => index)
  for (let i = 1; i <= left.length; i++) {
    const row = [i]
    for (let j = 1; j <= right.length; j++) {
      const substitution = previousRow[j - 1] + (left[i - 1] === right[j - 1] ? 0 : 1)
      row.push(Math.min(previousRow[j] + 1, row[j - 1] + 1, substitution))
    }
    previousRow = row
  }
  return previousRow[right.length]
}

/** The candidate closest to `word`, if close enough to be a plausible misspelling of it. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const allowed = Math.max(1, Math.floor(word.length / 3))
  let best: { candidate: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate)
    if (distance <= allowed && (best === undefined || distance < best.distance))
      best = { candidate, distance }
  }
  return best?.candidate
}

/** ` did you mean 'x'?`, or `` when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = closestMatch(word, candidates)
  return suggestion === undefined ? '' : ` did you mean '${suggestion}'?`
}
