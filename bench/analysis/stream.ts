/**
 * One simulated canary stage, the data every method of the analysis benchmark reads: per 15-second scrape
 * and per version, the requests, the failed ones and the latency histogram (Istio's buckets), plus every
 * request's latency per evaluation interval.
 */
import { createRandom } from '../../testkit/random.js'

/** Istio's default buckets of istio_request_duration_milliseconds (upper bounds; +Inf follows). */
export const ISTIO_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000
]

export interface StreamSettings {
  requestsPerSecond: number
  /** Share of the requests routed to the canary. */
  canaryWeight: number
  scrapeSeconds: number
  intervalSeconds: number
  intervals: number
  stable: VersionBehaviour
}

export interface VersionBehaviour {
  failureRate: number
  latencyMedianMs: number
  /** Standard deviation of log-latency. */
  latencySigma: number
}

export const STAGE: StreamSettings = {
  requestsPerSecond: 300,
  canaryWeight: 0.05,
  scrapeSeconds: 15,
  intervalSeconds: 60,
  intervals: 10,
  stable: { failureRate: 0.001, latencyMedianMs: 50, latencySigma: 0.5 }
}

/** What one version did during one scrape period. */
export interface Slot {
  requests: number
  failed: number
  /** Requests per bucket of ISTIO_BUCKETS_MS, then the +Inf bucket (not cumulative). */
  buckets: Int32Array
}

export interface VersionStream {
  /** slots[j] covers the time between scrape j and scrape j + 1 (scrape 0 is when the stage starts). */
  slots: Slot[]
  /** latencies[i]: every request's latency during evaluation interval i. */
  latencies: number[][]
}

export interface StageStream {
  canary: VersionStream
  stable: VersionStream
  slotsPerInterval: number
}

function bucketIndex(latencyMs: number): number {
  let low = 0
  let high = ISTIO_BUCKETS_MS.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (latencyMs <= ISTIO_BUCKETS_MS[middle]) high = middle
    else low = middle + 1
  }
  return low
}

/**
 * A stage's traffic: requests Poisson per scrape period and version (random routing at the canary's
 * weight), failures binomial, latencies log-normal. The two versions draw from separate generators, so a
 * scenario that changes only the canary leaves the stable's data identical across scenarios.
 */
export function simulateStage(settings: StreamSettings, canary: VersionBehaviour, seed: number): StageStream {
  const slotsPerInterval = settings.intervalSeconds / settings.scrapeSeconds
  if (!Number.isInteger(slotsPerInterval)) throw new Error('the interval must be a whole number of scrapes')
  const perSlot = settings.requestsPerSecond * settings.scrapeSeconds
  const version = (behaviour: VersionBehaviour, share: number, versionSeed: number): VersionStream => {
    const random = createRandom(versionSeed)
    const slots: Slot[] = []
    const latencies: number[][] = []
    for (let interval = 0; interval < settings.intervals; interval++) {
      const intervalLatencies: number[] = []
      for (let s = 0; s < slotsPerInterval; s++) {
        const requests = random.poisson(perSlot * share)
        const failed = random.binomial(requests, behaviour.failureRate)
        const buckets = new Int32Array(ISTIO_BUCKETS_MS.length + 1)
        for (let r = 0; r < requests; r++) {
          const latency = random.logNormal(behaviour.latencyMedianMs, behaviour.latencySigma)
          buckets[bucketIndex(latency)]++
          intervalLatencies.push(latency)
        }
        slots.push({ requests, failed, buckets })
      }
      latencies.push(intervalLatencies)
    }
    return { slots, latencies }
  }
  return {
    canary: version(canary, settings.canaryWeight, 2 * seed + 1),
    stable: version(settings.stable, 1 - settings.canaryWeight, 2 * seed + 2),
    slotsPerInterval
  }
}

/** Sum of slots first..last (inclusive) of one version. */
export function sumSlots(slots: readonly Slot[], first: number, last: number): Slot {
  const buckets = new Int32Array(ISTIO_BUCKETS_MS.length + 1)
  let requests = 0
  let failed = 0
  for (let j = first; j <= last; j++) {
    requests += slots[j].requests
    failed += slots[j].failed
    for (let b = 0; b < buckets.length; b++) buckets[b] += slots[j].buckets[b]
  }
  return { requests, failed, buckets }
}

/**
 * What `rate(x[1m])` sees at scrape `scrape` (seconds = scrape × 15): the increase between the first and
 * the last sample inside the window, i.e. the three scrape periods before it (45 s; Prometheus then
 * extrapolates, which a ratio cancels). Fewer at the start of the stage; undefined before two scrapes.
 */
export function rateWindow(
  slots: readonly Slot[],
  scrape: number,
  scrapesPerWindow: number
): Slot | undefined {
  const firstScrape = Math.max(0, scrape - (scrapesPerWindow - 1))
  if (scrape - firstScrape < 1) return undefined
  // Slot j lies between scrapes j and j + 1.
  return sumSlots(slots, firstScrape, scrape - 1)
}

/**
 * Prometheus' histogram_quantile on non-cumulative bucket counts: linear interpolation inside the bucket
 * that holds the rank, the lowest bucket starting at 0, the +Inf bucket answered with the highest finite
 * bound. NaN without observations.
 */
export function histogramQuantile(quantile: number, buckets: Int32Array): number {
  let total = 0
  for (const count of buckets) total += count
  if (total === 0) return NaN
  const rank = quantile * total
  let below = 0
  for (let b = 0; b < buckets.length; b++) {
    const through = below + buckets[b]
    if (through >= rank && buckets[b] > 0) {
      if (b === ISTIO_BUCKETS_MS.length) return ISTIO_BUCKETS_MS[ISTIO_BUCKETS_MS.length - 1]
      const start = b === 0 ? 0 : ISTIO_BUCKETS_MS[b - 1]
      return start + ((ISTIO_BUCKETS_MS[b] - start) * (rank - below)) / buckets[b]
    }
    below = through
  }
  return ISTIO_BUCKETS_MS[ISTIO_BUCKETS_MS.length - 1]
}
