/**
 * The sequential tests against values computed by hand (each derivation is written next to its
 * expectation), exact probabilities by enumeration, and the API's contract. The simulation of whole stages
 * is in sequential-simulation.test.ts.
 */
import { describe, expect, it } from '@jest/globals'
import {
  exceedances,
  exceedanceTrials,
  LOG_RATIO_GRID,
  logBinomialEValue,
  logRateRatioEValue,
  rateRatioEstimate,
  SEQUENTIAL_DEFAULTS,
  sequentialErrorRateTest,
  sequentialLatencyTest,
  sequentialOptionsProblem,
  snapshotIntervals,
  type CountsSnapshot,
  type IntervalCounts
} from '../../src/analysis/sequential/index.js'

const interval = (
  canaryEvents: number,
  canaryExposure: number,
  stableEvents: number,
  stableExposure: number
): IntervalCounts => ({ canaryEvents, canaryExposure, stableEvents, stableExposure })

/** Binomial(n, k) without overflow for the small n enumerated here. */
function choose(n: number, k: number): number {
  let result = 1
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i
  return result
}

const binomialPmf = (n: number, p: number, k: number) => choose(n, k) * p ** k * (1 - p) ** (n - k)

/** Cumulative snapshots from per-interval counts [canaryFailed, canaryTotal, stableFailed, stableTotal]. */
function cumulative(increments: [number, number, number, number][]): CountsSnapshot[] {
  let [cf, ct, sf, st] = [0, 0, 0, 0]
  return increments.map(([a, b, c, d]) => {
    cf += a
    ct += b
    sf += c
    st += d
    return { canary: { failed: cf, total: ct }, stable: { failed: sf, total: st } }
  })
}

describe('the rate-ratio e-process', () => {
  it('matches the likelihood ratio computed by hand for one alternative', () => {
    // Canary 3 failures of 100 requests, stable 1 of 100, null ratio 1, alternative ratio 2:
    // 2^3 * ((100 + 100) / (200 + 100))^4, log = 3 ln 2 - 4 ln 1.5 = 2.0794415 - 1.6218604 = 0.4575811.
    // Same as the binomial likelihood ratio of "a failure is the canary's" at 2/3 against 1/2:
    // 3 ln(4/3) + 1 ln(2/3) = 0.8630462 - 0.4054651.
    expect(logRateRatioEValue([interval(3, 100, 1, 100)], 1, 'above', [Math.log(2)])).toBeCloseTo(
      0.4575811,
      6
    )
  })

  it('takes the tolerance as the null ratio', () => {
    // Null ratio 1.25: the canary's share of the failures under the null is 125 / 225; alternative 2.5:
    // 3 ln 2 - 4 ln(1 + (2 - 1) * 125/225) = 2.0794415 - 4 * 0.4418328 = 0.3121105.
    expect(logRateRatioEValue([interval(3, 100, 1, 100)], 1.25, 'above', [Math.log(2)])).toBeCloseTo(
      0.3121105,
      6
    )
  })

  it('multiplies intervals and averages alternatives', () => {
    // Second interval: no canary failure, 2 stable ones, traffic 50 / 150: -2 ln((2*50 + 150) / 200)
    // = -2 ln 1.25 = -0.4462871; with the first, 0.4575811 - 0.4462871 = 0.0112940.
    const twoIntervals = [interval(3, 100, 1, 100), interval(0, 50, 2, 150)]
    expect(logRateRatioEValue(twoIntervals, 1, 'above', [Math.log(2)])).toBeCloseTo(0.011294, 6)
    // Alternatives 2 and 4 on the first interval: 3 ln 4 - 4 ln 2.5 = 0.4937202, then
    // ln((e^0.4575811 + e^0.4937202) / 2) = ln((1.580247 + 1.638404) / 2) = 0.4758139.
    expect(
      logRateRatioEValue([interval(3, 100, 1, 100)], 1, 'above', [Math.log(2), Math.log(4)])
    ).toBeCloseTo(0.4758139, 6)
  })

  it('mirrors for the other side and ignores intervals without failures', () => {
    // Below: alternative 1/2 on (1, 100, 3, 100) is the above case with the versions swapped.
    expect(logRateRatioEValue([interval(1, 100, 3, 100)], 1, 'below', [Math.log(2)])).toBeCloseTo(
      0.4575811,
      6
    )
    expect(logRateRatioEValue([interval(0, 500, 0, 9000)], 1, 'above')).toBeCloseTo(0, 12)
  })

  it('never reaches 1/alpha with probability above alpha: exact enumeration over three intervals', () => {
    // Under the null each failure is the canary's with probability n / (n + s), here 100 / 300 = 1/3,
    // independently (exact for Poisson counts; binomial counts are less spread). Enumerate every outcome of
    // three intervals of 12 failures each and add up the probability of the paths that ever reach log(20).
    const failuresPerInterval = 12
    const threshold = Math.log(1 / 0.05)
    const rejectionProbability = (canaryShare: number) => {
      let everRejected = 0
      let total = 0
      for (let a = 0; a <= failuresPerInterval; a++)
        for (let b = 0; b <= failuresPerInterval; b++)
          for (let c = 0; c <= failuresPerInterval; c++) {
            const probability = [a, b, c].reduce(
              (p, x) => p * binomialPmf(failuresPerInterval, canaryShare, x),
              1
            )
            total += probability
            const path = [a, b, c].map(x => interval(x, 100, failuresPerInterval - x, 200))
            const rejected = [1, 2, 3].some(
              looks => logRateRatioEValue(path.slice(0, looks), 1, 'above') >= threshold
            )
            if (rejected) everRejected += probability
          }
      expect(total).toBeCloseTo(1, 12)
      return everRejected
    }
    const underNull = rejectionProbability(1 / 3)
    expect(underNull).toBeLessThanOrEqual(0.05)
    expect(underNull).toBeGreaterThan(0)
    // Not vacuous: a canary failing three times as often (share 3 * 100 / (300 + 200) = 0.6) is caught
    // in most stages.
    expect(rejectionProbability(0.6)).toBeGreaterThan(0.5)
  })
})

describe('the binomial e-process and the latency exceedances', () => {
  it('matches the binomial likelihood ratio computed by hand', () => {
    // 7 of 10 above, null probability 1/2, odds doubled (probability 2/3):
    // 7 ln 2 - 10 ln(1 + 0.5 * (2 - 1)) = 4.8520303 - 4.0546511 = 0.7973792
    // = 7 ln(4/3) + 3 ln(2/3), the likelihood ratio written the usual way.
    expect(
      logBinomialEValue([{ successes: 7, trials: 10, nullProbability: 0.5 }], 'above', [Math.log(2)])
    ).toBeCloseTo(0.7973792, 6)
  })

  it('counts the samples above the pooled quantile, by hand', () => {
    const sorted = { canary: Float64Array.from([10, 20, 30]), stable: Float64Array.from([5, 15, 25, 35]) }
    // Pooled 5 10 15 20 25 30 35: the median is the 4th (ceil(0.5 * 7)), 20; above it: 25 30 35, one canary.
    expect(exceedances(sorted, 1, 0.5)).toEqual({
      canaryAbove: 1,
      canarySamples: 3,
      pooledAbove: 3,
      pooledSamples: 7
    })
    // Scale 0.5 doubles the canary: 5 15 20 25 35 40 60, the 4th is 25; above: 35 40 60, two canary.
    expect(exceedances(sorted, 0.5, 0.5)).toMatchObject({ canaryAbove: 2, pooledAbove: 3 })
    // Scale 1.25: canary 8 16 24; pooled 5 8 15 16 24 25 35, the 4th is 16; above: 24 25 35, one canary.
    expect(exceedances(sorted, 1.25, 0.5)).toMatchObject({ canaryAbove: 1, pooledAbove: 3 })
    // Quantile 0.9: the 7th (ceil(6.3)) of the pooled samples is the largest, nothing is above it.
    expect(exceedances(sorted, 1, 0.9)).toMatchObject({ canaryAbove: 0, pooledAbove: 0 })
  })

  it('is an e-value under exchangeable samples: exact hypergeometric expectation', () => {
    // 3 canary and 4 stable samples, 3 pooled samples above the median: the canary's count is
    // hypergeometric, P(x) = C(3,x) C(4,3-x) / C(7,3) = 4/35, 18/35, 12/35, 1/35. The binomial factor
    // (3 trials at 3/7) must have expectation at most 1 under it, on both sides.
    const pmf = [4, 18, 12, 1].map(count => count / 35)
    for (const side of ['above', 'below'] as const) {
      const expectation = pmf.reduce((sum, p, x) => {
        const trials = exceedanceTrials({
          canaryAbove: x,
          canarySamples: 3,
          pooledAbove: 3,
          pooledSamples: 7
        })
        return sum + p * Math.exp(logBinomialEValue([trials], side))
      }, 0)
      expect(expectation).toBeLessThanOrEqual(1)
    }
  })

  it('uses the binomial with fewer trials', () => {
    // 10 canary samples, 500 pooled above of 1000: 10 trials at 1/2 (variance 2.5) rather than 500 at
    // 1/100 (variance 4.95); the hypergeometric's is 10 * 1/2 * 1/2 * 990/999 = 2.48.
    expect(
      exceedanceTrials({ canaryAbove: 7, canarySamples: 10, pooledAbove: 500, pooledSamples: 1000 })
    ).toEqual({ successes: 7, trials: 10, nullProbability: 0.5 })
    // 400 canary samples, 10 pooled above of 1000: each of the 10 is the canary's with probability 0.4.
    expect(
      exceedanceTrials({ canaryAbove: 6, canarySamples: 400, pooledAbove: 10, pooledSamples: 1000 })
    ).toEqual({ successes: 6, trials: 10, nullProbability: 0.4 })
  })

  it('has a grid of 17 alternatives from 2% up', () => {
    expect(LOG_RATIO_GRID).toHaveLength(17)
    expect(LOG_RATIO_GRID[0]).toBeCloseTo(0.02, 12)
    expect(LOG_RATIO_GRID[16]).toBeCloseTo(5.12, 12)
  })
})

describe('sequentialErrorRateTest', () => {
  it('turns cumulative snapshots into intervals and refuses counters that go down', () => {
    const snapshots = cumulative([
      [3, 100, 1, 100],
      [0, 50, 2, 150]
    ])
    expect(snapshotIntervals(snapshots)).toEqual([interval(3, 100, 1, 100), interval(0, 50, 2, 150)])
    const reset = [snapshots[1], snapshots[0]]
    expect(() => sequentialErrorRateTest(reset)).toThrow('went down')
    expect(() =>
      sequentialErrorRateTest([{ canary: { failed: 5, total: 4 }, stable: { failed: 0, total: 10 } }])
    ).toThrow('0 <= failed <= total')
  })

  it('rounds counts extrapolated by Prometheus', () => {
    const result = sequentialErrorRateTest([
      { canary: { failed: 2.4, total: 99.7 }, stable: { failed: 0.6, total: 1000.2 } }
    ])
    expect([result.canarySamples, result.stableSamples]).toEqual([100, 1000])
  })

  it('estimates the ratio as Mantel-Haenszel does, by hand', () => {
    // Interval 1: 3 * 100 / 200 = 1.5 over 1 * 100 / 200 = 0.5; interval 2: 0 over 2 * 50 / 200 = 0.5.
    // (1.5 + 0) / (0.5 + 0.5) = 1.5.
    expect(rateRatioEstimate([interval(3, 100, 1, 100), interval(0, 50, 2, 150)])).toBeCloseTo(1.5, 12)
    expect(rateRatioEstimate([interval(2, 100, 0, 100)])).toBe(Infinity)
    expect(rateRatioEstimate([interval(0, 100, 0, 100)])).toBeNull()
  })

  it('gives no verdict below minSamples requests per version', () => {
    const snapshots = cumulative([[30, 40, 0, 1000]])
    const result = sequentialErrorRateTest(snapshots)
    expect(result.verdict).toBe('nodata')
    expect(result.message).toContain('fewer than 50 requests')
    // The evidence is computed all the same, for the report.
    expect(result.logEValue).toBeGreaterThan(result.logThreshold)
    expect(sequentialErrorRateTest(snapshots, { minSamples: 40 }).verdict).toBe('reject')
  })

  it('rejects a canary failing ten times as often, and bounds the ratio consistently', () => {
    const snapshots = cumulative([
      [10, 1000, 19, 19000],
      [9, 1000, 20, 19000]
    ])
    const result = sequentialErrorRateTest(snapshots)
    expect(result.verdict).toBe('reject')
    expect(result.estimate).toBeCloseTo((19 * 19000) / (39 * 1000), 1)
    expect(result.lower).toBeGreaterThan(result.acceptedMax)
    expect(result.lower).toBeLessThan(result.estimate as number)
    expect(result.upper).toBeGreaterThan(result.estimate as number)
    expect(result.acceptedMax).toBe(1 + SEQUENTIAL_DEFAULTS.tolerance)
    expect(result.logThreshold).toBeCloseTo(Math.log(20), 12)
    expect(result.message).toMatch(/^canary 0\.95% \(19 of 2000\) failed vs stable 0\.103% \(39 of 38000\)/)
    expect(result.message).toContain('failure rate higher beyond 25%')
  })

  it('continues on a canary no worse than the stable, and its bounds cover 1', () => {
    const result = sequentialErrorRateTest(cumulative([[2, 1000, 40, 19000]]))
    expect(result.verdict).toBe('continue')
    expect(result.lower).toBeLessThan(1)
    expect(result.upper).toBeGreaterThan(1)
    expect(result.logEValue).toBeLessThan(0)
  })

  it('is one-sided: a canary failing less never rejects with increase, and does with decrease', () => {
    const snapshots = cumulative([[0, 5000, 200, 5000]])
    expect(sequentialErrorRateTest(snapshots).verdict).toBe('continue')
    const decrease = sequentialErrorRateTest(snapshots, { direction: 'decrease' })
    expect(decrease.verdict).toBe('reject')
    expect(decrease.acceptedMin).toBe(0.75)
    expect(decrease.upper).toBeLessThan(0.75)
  })

  it('splits alpha over both sides with either', () => {
    const result = sequentialErrorRateTest(cumulative([[30, 1000, 20, 19000]]), { direction: 'either' })
    // log(2 / 0.05) = log 40 = 3.6888795
    expect(result.logThreshold).toBeCloseTo(3.6888795, 6)
    expect(result.verdict).toBe('reject')
    expect(result.message).toContain('changed beyond 25%')
  })

  it('reports no estimate before the first failure', () => {
    const result = sequentialErrorRateTest(cumulative([[0, 1000, 0, 19000]]))
    expect(result).toMatchObject({ verdict: 'continue', estimate: null, lower: 0, upper: Infinity })
    expect(result.message).toContain('no failures yet')
  })
})

describe('sequentialLatencyTest', () => {
  /** Deterministic latency-like samples: evenly spaced quantiles of a log-logistic distribution. */
  const spread = (count: number, median: number) =>
    Array.from({ length: count }, (_, i) => {
      const u = (i + 0.5) / count
      return median * Math.exp(0.3 * Math.log(u / (1 - u)))
    })

  it('rejects a canary twice as slow and estimates the factor', () => {
    const intervals = [1, 2].map(() => ({ canary: spread(60, 100), stable: spread(600, 50) }))
    const result = sequentialLatencyTest(intervals)
    expect(result.verdict).toBe('reject')
    expect(result.estimate).toBeGreaterThan(1.9)
    expect(result.estimate).toBeLessThan(2.1)
    expect(result.lower).toBeGreaterThan(1.25)
    expect(result.message).toMatch(/^canary vs stable at the median \+\d+(\.\d+)?% \[/)
    expect(result.message).toContain('increase beyond 25%')
    expect([result.canarySamples, result.stableSamples]).toEqual([120, 1200])
  })

  it('does not reject a slowdown inside the tolerance', () => {
    const intervals = [1, 2, 3].map(() => ({ canary: spread(200, 55), stable: spread(2000, 50) }))
    const result = sequentialLatencyTest(intervals)
    expect(result.verdict).toBe('continue')
    expect(result.estimate).toBeCloseTo(1.1, 1)
    expect(sequentialLatencyTest(intervals, { tolerance: 0 }).verdict).toBe('reject')
  })

  it('does not depend on the unit', () => {
    const inMs = [{ canary: spread(80, 70), stable: spread(500, 50) }]
    const inSeconds = [
      { canary: inMs[0].canary.map(v => v / 1000), stable: inMs[0].stable.map(v => v / 1000) }
    ]
    const a = sequentialLatencyTest(inMs, { tolerance: 0.1 })
    const b = sequentialLatencyTest(inSeconds, { tolerance: 0.1 })
    expect(b.logEValue).toBeCloseTo(a.logEValue, 9)
    expect(b.estimate).toBeCloseTo(a.estimate as number, 3)
  })

  it('mirrors for decrease and splits alpha for either', () => {
    const faster = [{ canary: spread(100, 25), stable: spread(1000, 50) }]
    expect(sequentialLatencyTest(faster).verdict).toBe('continue')
    expect(sequentialLatencyTest(faster, { direction: 'decrease' }).verdict).toBe('reject')
    const either = sequentialLatencyTest(faster, { direction: 'either' })
    expect(either.verdict).toBe('reject')
    expect(either.upper).toBeLessThan(0.75)
  })

  it('gives no verdict below minSamples and refuses bad samples and options', () => {
    const few = [{ canary: spread(30, 100), stable: spread(30, 50) }]
    expect(sequentialLatencyTest(few).verdict).toBe('nodata')
    expect(sequentialLatencyTest(few, { minSamples: 30 }).verdict).not.toBe('nodata')
    expect(() => sequentialLatencyTest([{ canary: [1, -2], stable: [1] }])).toThrow('interval 1 canary')
    expect(() => sequentialLatencyTest([{ canary: [1], stable: [NaN] }])).toThrow('interval 1 stable')
    expect(() => sequentialLatencyTest(few, { quantile: 1 })).toThrow('quantile')
    expect(() => sequentialLatencyTest(few, { alpha: 0.6 })).toThrow('alpha')
    expect(sequentialLatencyTest([])).toMatchObject({ verdict: 'nodata', estimate: null })
  })
})

describe('sequentialOptionsProblem', () => {
  it('names what a plan error would say', () => {
    expect(sequentialOptionsProblem({})).toBeUndefined()
    expect(sequentialOptionsProblem({ alpha: 0.5, minSamples: 2 })).toBeUndefined()
    expect(sequentialOptionsProblem({ alpha: 0 })).toBe('alpha must be in (0, 0.5], got 0')
    expect(sequentialOptionsProblem({ alpha: 0.51 })).toContain('alpha')
    expect(sequentialOptionsProblem({ minSamples: 1 })).toBe(
      'minSamples must be an integer of at least 2, got 1'
    )
    expect(sequentialOptionsProblem({ minSamples: 2.5 })).toContain('minSamples')
    expect(sequentialOptionsProblem({ tolerance: -0.1 })).toContain('tolerance')
    expect(sequentialOptionsProblem({ tolerance: 1, direction: 'decrease' })).toContain('below 1')
    expect(sequentialOptionsProblem({ tolerance: 3 })).toBeUndefined()
    expect(sequentialOptionsProblem({ alpha: undefined })).toBeUndefined()
    expect(sequentialOptionsProblem({ quantile: 0.9 })).toBeUndefined()
    expect(sequentialOptionsProblem({ quantile: 0 })).toBe('quantile must be in (0, 1), got 0')
  })
})
