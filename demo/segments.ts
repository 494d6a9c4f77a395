/**
 * What the traffic simulator observed while one routing was in effect: where each entry point's requests were
 * served, the copies a mirror made, and how the users carrying a cookie the routing set were served.
 */
import { describeTarget, type RoutingResult } from './route-table.js'

export interface Tally {
  requests: number
  errors: number
}

/** Destination label -> requests, by who sent them. */
export interface Traffic {
  users: Record<string, Tally>
  testUser: Record<string, Tally>
}

export interface StickyTally {
  /** Distinct users who sent the cookie. */
  users: number
  /** Where their requests were served. */
  served: Record<string, Tally>
}

export interface Segment {
  startedAt: number
  endedAt?: number
  routing: string
  /** Requests served, by entry point name, in the simulator's order of entry points. */
  entries: Record<string, Traffic>
  mirrored: {
    /** Requests whose route has a mirror. */
    eligible: number
    /** Where the copies went, and how the backends answered them (answers nobody received). */
    copies: Record<string, Tally>
  }
  /** Responses that set a cookie, by `name=value`. */
  cookiesSet: Record<string, number>
  /** Users' (not test users') requests carrying a cookie the routing set, by `name=value`. */
  sticky: Record<string, StickyTally>
  /** Users' requests without any such cookie. */
  unpinned: Record<string, Tally>
}

export function addTally(tallies: Record<string, Tally>, label: string, error: boolean): void {
  const tally = (tallies[label] ??= { requests: 0, errors: 0 })
  tally.requests++
  if (error) tally.errors++
}

/** Sums tallies by label. */
export function mergeTallies(...groups: Record<string, Tally>[]): Record<string, Tally> {
  const merged: Record<string, Tally> = {}
  for (const group of groups) {
    for (const [label, tally] of Object.entries(group)) {
      const total = (merged[label] ??= { requests: 0, errors: 0 })
      total.requests += tally.requests
      total.errors += tally.errors
    }
  }
  return merged
}

export function emptySegment(now: number, routing: string, entryNames: string[]): Segment {
  return {
    startedAt: now,
    routing,
    entries: Object.fromEntries(entryNames.map(name => [name, { users: {}, testUser: {} }])),
    mirrored: { eligible: 0, copies: {} },
    cookiesSet: {},
    sticky: {},
    unpinned: {}
  }
}

/** One request as a segment counts it. */
export interface Observation {
  entry: string
  testUser: boolean
  userId: number
  /** The cookies the routing set that the request carried, `name=value`. */
  carried: string[]
  result: RoutingResult
  label: string
  error: boolean
  mirrorError: boolean
}

/** Records observations in segments, counting each cookie's distinct users. */
export function segmentRecorder() {
  const stickyUsers = new WeakMap<Segment, Map<string, Set<number>>>()
  return (segment: Segment, seen: Observation): void => {
    const traffic = (segment.entries[seen.entry] ??= { users: {}, testUser: {} })
    addTally(seen.testUser ? traffic.testUser : traffic.users, seen.label, seen.error)
    const { result } = seen
    if (result.mirrorPercent !== undefined) segment.mirrored.eligible++
    if (result.mirror) addTally(segment.mirrored.copies, describeTarget(result.mirror), seen.mirrorError)
    for (const setCookie of result.setCookies ?? []) {
      const pair = setCookie.split(';')[0].trim()
      segment.cookiesSet[pair] = (segment.cookiesSet[pair] ?? 0) + 1
    }
    if (seen.testUser) return
    if (seen.carried.length === 0) return addTally(segment.unpinned, seen.label, seen.error)
    let users = stickyUsers.get(segment)
    if (!users) stickyUsers.set(segment, (users = new Map()))
    for (const cookie of seen.carried) {
      const tally = (segment.sticky[cookie] ??= { users: 0, served: {} })
      const ids = users.get(cookie) ?? new Set<number>()
      users.set(cookie, ids.add(seen.userId))
      tally.users = ids.size
      addTally(tally.served, seen.label, seen.error)
    }
  }
}
