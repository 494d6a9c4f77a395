/**
 * The simulated users: each comes through one entry point (the mesh, an ingress gateway), some are test users
 * (`cookie: user=test-user`), and each keeps the cookies responses set, as a browser does, and sends them back
 * until they expire. That is what makes a sticky canary observable: a user the canary answered carries its
 * cookie on every later request.
 */

export const TEST_USER_COOKIE = 'user=test-user'

interface StoredCookie {
  value: string
  /** ms since the epoch; Infinity for a session cookie. */
  expiresAt: number
}

export interface SimUser {
  id: number
  testUser: boolean
  /** Index of the entry point the user's requests come through. */
  entry: number
  /** Cookies responses set, by name. */
  jar: Map<string, StoredCookie>
}

/** `count` users; `entryShares` (summing to 1) is the share of users of each entry point. */
export function createUsers(
  count: number,
  testUserShare: number,
  entryShares: number[],
  random: () => number
): SimUser[] {
  return Array.from({ length: count }, (_, id) => {
    const draw = random()
    let cumulative = 0
    const entry = entryShares.findIndex(share => draw < (cumulative += share))
    // Shares that sum to a hair under 1 leave the last entry point the rest.
    return {
      id,
      testUser: random() < testUserShare,
      entry: entry === -1 ? entryShares.length - 1 : entry,
      jar: new Map()
    }
  })
}

/** The unexpired cookies responses set, as `name=value`. */
export function carriedCookies(user: SimUser, now: number): string[] {
  const carried: string[] = []
  for (const [name, cookie] of user.jar) {
    if (cookie.expiresAt <= now) user.jar.delete(name)
    else carried.push(`${name}=${cookie.value}`)
  }
  return carried
}

/** The Cookie header: who the user is (a third of users send no cookie of their own), then what was set. */
export function cookieHeader(user: SimUser, now: number): string | undefined {
  const own = user.testUser ? [TEST_USER_COOKIE] : user.id % 3 === 0 ? [] : [`session=${user.id}`]
  const cookies = [...own, ...carriedCookies(user, now)]
  return cookies.length > 0 ? cookies.join('; ') : undefined
}

/** Keeps a `Set-Cookie` value (`name=value; Max-Age=N; Path=/`); a Max-Age of 0 or less removes the cookie. */
export function storeCookie(user: SimUser, setCookie: string, now: number): void {
  const [pair, ...attributes] = setCookie.split(';').map(part => part.trim())
  const at = pair.indexOf('=')
  if (at <= 0) return
  const name = pair.slice(0, at)
  const maxAge = attributes
    .map(attribute => /^max-age=(-?\d+)$/i.exec(attribute))
    .find(match => match !== null)
  const expiresAt = maxAge ? now + Number(maxAge[1]) * 1000 : Infinity
  if (expiresAt <= now) user.jar.delete(name)
  else user.jar.set(name, { value: pair.slice(at + 1), expiresAt })
}
