/** Small text helpers shared by messages. */

/**
 * The text as people should see it in a one-line message: control, format (bidirectional, zero-width) and
 * other invisible characters spelled out as `\u{…}`, so a hostile value cannot hide or reorder what follows.
 */
export function visible(text: string): string {
  // \p{C}: controls, format characters (bidirectional marks, zero-width), unassigned and private use.
  return text.replace(/[\p{C}\p{Zl}\p{Zp}]/gu, character => `\\u{${character.codePointAt(0)?.toString(16)}}`)
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
