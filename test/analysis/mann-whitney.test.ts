import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { compareVerdict, mannWhitneyU, relativeEffectSize } from '../../src/analysis/mann-whitney.js'

/** U by its definition: canary/stable pairs where canary is larger, ties counting half. */
function bruteForceU(canary: number[], stable: number[]): number {
  let u = 0
  for (const x of canary) for (const y of stable) u += x > y ? 1 : x === y ? 0.5 : 0
  return u
}

describe('mannWhitneyU', () => {
  // Expected p-values are those of scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True).
  it('matches the worked example of SciPy’s documentation (U = 17)', () => {
    const result = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12])
    expect(result.u).toBe(17)
    expect(result.n1).toBe(5)
    expect(result.n2).toBe(4)
    expect(result.pTwoSided).toBeCloseTo(0.11134688653314041, 6)
    expect(result.pGreater).toBeCloseTo(0.055673443266570206, 6)
    expect(result.pLess).toBeCloseTo(0.9669037101389033, 6)
  })

  it('uses average ranks and the tie-corrected variance', () => {
    const result = mannWhitneyU([1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 3, 4, 4, 5, 5, 6, 7])
    expect(result.u).toBe(17)
    expect(result.pTwoSided).toBeCloseTo(0.06935045438181722, 6)
    expect(result.pGreater).toBeCloseTo(0.9722090215103386, 6)
    expect(result.pLess).toBeCloseTo(0.03467522719090861, 6)
  })

  it('finds a clear latency increase significant', () => {
    const canary = [120, 135, 128, 140, 150, 131, 127, 139, 145, 160, 133, 129]
    const stable = [100, 105, 98, 110, 102, 99, 104, 108, 101, 97, 103]
    const result = mannWhitneyU(canary, stable)
    expect(result.u).toBe(132)
    expect(result.pGreater).toBeCloseTo(2.774092847932456e-5, 7)
    expect(result.pTwoSided).toBeCloseTo(5.548185695864912e-5, 7)
    expect(result.z).toBeGreaterThan(3)
  })

  it('gives U = 0 when every canary value is below every stable value', () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6]).u).toBe(0)
  })

  it('is symmetric: swapping the samples mirrors U and the one-sided p-values', () => {
    const a = [3.1, 4.5, 2.2, 8.0, 5.5, 5.5, 1.0]
    const b = [6.1, 7.2, 5.5, 9.9, 4.4]
    const ab = mannWhitneyU(a, b)
    const ba = mannWhitneyU(b, a)
    expect(ab.u + ba.u).toBe(a.length * b.length)
    expect(ab.pGreater).toBeCloseTo(ba.pLess, 12)
    expect(ab.pLess).toBeCloseTo(ba.pGreater, 12)
    expect(ab.pTwoSided).toBeCloseTo(ba.pTwoSided, 12)
    expect(ab.z).toBeCloseTo(-ba.z, 12)
  })

  it('sees no difference between identical samples, or when every value is tied', () => {
    const same = mannWhitneyU([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    expect(same.z).toBe(0)
    expect(same.pTwoSided).toBe(1)
    const allTied = mannWhitneyU([7, 7, 7], [7, 7])
    expect(allTied).toMatchObject({ u: 3, z: 0, pTwoSided: 1, pGreater: 1, pLess: 1 })
  })

  it('agrees with the pairwise definition of U, ties included', () => {
    const sample = fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 30 })
    fc.assert(
      fc.property(sample, sample, (canary, stable) => {
        const result = mannWhitneyU(canary, stable)
        expect(result.u).toBe(bruteForceU(canary, stable))
        for (const p of [result.pTwoSided, result.pGreater, result.pLess]) {
          expect(p).toBeGreaterThanOrEqual(0)
          expect(p).toBeLessThanOrEqual(1)
        }
      })
    )
  })

  it('ranks 10,000 + 10,000 samples in well under 50 ms', () => {
    const canary = Array.from({ length: 10_000 }, () => Math.round(Math.random() * 1000))
    const stable = Array.from({ length: 10_000 }, () => Math.round(Math.random() * 1000))
    const durations = [1, 2, 3].map(() => {
      const started = performance.now()
      mannWhitneyU(canary, stable)
      return performance.now() - started
    })
    expect(Math.min(...durations)).toBeLessThan(50)
  })
})

describe('relativeEffectSize', () => {
  it('is the change of the median relative to the stable median', () => {
    expect(relativeEffectSize([150, 150, 150], [100, 100, 100])).toBeCloseTo(0.5)
    expect(relativeEffectSize([50, 50], [100, 100])).toBeCloseTo(-0.5)
    expect(relativeEffectSize([-3], [-2])).toBeCloseTo(-0.5)
  })

  it('handles a zero stable median', () => {
    expect(relativeEffectSize([0, 0], [0, 0])).toBe(0)
    expect(relativeEffectSize([1, 1], [0, 0])).toBe(Infinity)
    expect(relativeEffectSize([-1, -1], [0, 0])).toBe(-Infinity)
  })
})

describe('compareVerdict', () => {
  const around = (center: number) => Array.from({ length: 20 }, (_, i) => center + (i % 5) - 2)
  const stable = around(100)
  const slower = around(150)
  const faster = around(50)
  const judge = (canary: number[], direction: 'increase' | 'decrease' | 'either', tolerance = 0.25) =>
    compareVerdict({ canary, stable, direction, tolerance, confidence: 0.98 })

  it('fails a significant increase beyond the tolerance when increases are bad', () => {
    const result = judge(slower, 'increase')
    expect(result.verdict).toBe('fail')
    expect(result.effectSize).toBeCloseTo(0.5)
    expect(result.p).toBeLessThan(0.02)
    expect(result).toMatchObject({ canarySamples: 20, stableSamples: 20, u: 400 })
    expect(result.message).toMatch(
      /canary median 150 vs stable 100 \(\+50%\).*significant increase beyond 25%/
    )
  })

  it('passes a change in the harmless direction', () => {
    expect(judge(faster, 'increase').verdict).toBe('pass')
    expect(judge(slower, 'decrease').verdict).toBe('pass')
    expect(judge(faster, 'decrease').verdict).toBe('fail')
  })

  it('fails changes both ways when the direction is either', () => {
    expect(judge(slower, 'either').verdict).toBe('fail')
    expect(judge(faster, 'either').verdict).toBe('fail')
    expect(judge(around(101), 'either').verdict).toBe('pass')
  })

  it('passes a significant change within the tolerance', () => {
    const result = judge(slower, 'increase', 0.6)
    expect(result.p).toBeLessThan(0.02)
    expect(result.verdict).toBe('pass')
  })

  it('passes a large change that is not significant', () => {
    const noisyStable = [10, 300, 20, 250, 30, 200, 40, 150, 50, 100]
    const noisyCanary = [15, 320, 25, 260, 35, 210, 45, 160, 400, 500]
    const result = compareVerdict({
      canary: noisyCanary,
      stable: noisyStable,
      direction: 'increase',
      tolerance: 0.25,
      confidence: 0.98
    })
    expect(result.effectSize).toBeGreaterThan(0.25)
    expect(result.p).toBeGreaterThan(0.02)
    expect(result.verdict).toBe('pass')
  })

  it('has no verdict with fewer than 10 samples on either side', () => {
    const result = judge(slower.slice(0, 9), 'increase')
    expect(result.verdict).toBe('nodata')
    expect(result.message).toBe('not enough samples (canary 9, stable 20, need 10 each)')
    expect(result.canarySamples).toBe(9)
  })
})
