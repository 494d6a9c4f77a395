/**
 * The sticky canary's cookie (sessionAffinity). Its value is the revision, so a cookie from an earlier release
 * never pins a user to a later one.
 */
import type { SessionAffinity } from '../plan/types.js'

/** The `Set-Cookie` value the canary's responses carry while traffic is split. */
export function stickyCookie(affinity: SessionAffinity, revision: string): string {
  return `${affinity.cookieName}=${revision}; Max-Age=${affinity.maxAgeSeconds}; Path=/`
}

/** `text` as an RE2 pattern that matches it literally. */
export function re2Literal(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, character => `\\${character}`)
}

/** RE2 (full match) of a Cookie header that carries the sticky cookie with this revision. */
export function stickyCookieMatch(affinity: SessionAffinity, revision: string): string {
  return `^(.*?;\\s*)?${re2Literal(affinity.cookieName)}=${re2Literal(revision)}(;.*)?$`
}
