/**
 * Seeded random numbers for simulations (the tests and the analysis benchmark): a small generator and
 * exact samplers for the distributions a canary stage is modelled with. Same seed, same numbers, on every
 * machine: only integer arithmetic and Math functions whose results the simulations do not depend on to
 * the last bit.
 */

export interface Random {
  /** Uniform on [0, 1). */
  uniform(): number
  /** Standard normal. */
  normal(): number
  poisson(mean: number): number
  binomial(trials: number, probability: number): number
  /** exp(N(log(median), sigma²)). */
  logNormal(median: number, sigma: number): number
}

/**
 * SplitMix32-style generator: a Weyl sequence (adding an odd constant) passed through an integer hash.
 * Good enough for Monte Carlo at these sizes, and four lines long.
 */
function uniformSource(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    z = (z ^ (z >>> 16)) >>> 0
    return z / 4294967296
  }
}

/** log(k!) for the Poisson rejection step: exact sums for small k, Stirling's series beyond. */
function logFactorial(k: number): number {
  if (k < 20) {
    let sum = 0
    for (let i = 2; i <= k; i++) sum += Math.log(i)
    return sum
  }
  const n = k + 1
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * n) - 1 / (360 * n ** 3)
}

export function createRandom(seed: number): Random {
  const uniform = uniformSource(seed)
  let spareNormal: number | undefined

  function normal(): number {
    if (spareNormal !== undefined) {
      const value = spareNormal
      spareNormal = undefined
      return value
    }
    // Box-Muller: two uniforms give two independent normals.
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()))
    const angle = 2 * Math.PI * uniform()
    spareNormal = radius * Math.sin(angle)
    return radius * Math.cos(angle)
  }

  /** Multiplying uniforms until the product drops below e^-mean: exact, O(mean). */
  function smallPoisson(mean: number): number {
    const limit = Math.exp(-mean)
    let count = 0
    let product = uniform()
    while (product > limit) {
      count++
      product *= uniform()
    }
    return count
  }

  /**
   * Transformed rejection with squeeze (Hörmann's PTRS, 1993): exact, a couple of uniforms per draw
   * whatever the mean. Constants from that paper's description of the method.
   */
  function largePoisson(mean: number): number {
    const logMean = Math.log(mean)
    const b = 0.931 + 2.53 * Math.sqrt(mean)
    const a = -0.059 + 0.02483 * b
    const inverseAlpha = 1.1239 + 1.1328 / (b - 3.4)
    const acceptAtOnce = 0.9277 - 3.6224 / (b - 2)
    for (;;) {
      const u = uniform() - 0.5
      const v = uniform()
      const distance = 0.5 - Math.abs(u)
      const k = Math.floor(((2 * a) / distance + b) * u + mean + 0.43)
      if (distance >= 0.07 && v <= acceptAtOnce) return k
      if (k < 0 || (distance < 0.013 && v > distance)) continue
      const logAccept = Math.log((v * inverseAlpha) / (a / (distance * distance) + b))
      if (logAccept <= -mean + k * logMean - logFactorial(k)) return k
    }
  }

  function poisson(mean: number): number {
    if (!(mean >= 0)) throw new RangeError(`poisson mean must be >= 0, got ${mean}`)
    return mean < 30 ? smallPoisson(mean) : largePoisson(mean)
  }

  /**
   * Counting geometric gaps between successes until they pass the number of trials: exact, and
   * O(trials × probability), which is small for the failure rates simulated here.
   */
  function binomial(trials: number, probability: number): number {
    if (!(probability >= 0 && probability <= 1)) throw new RangeError(`probability must be in [0, 1]`)
    if (probability > 0.5) return trials - binomial(trials, 1 - probability)
    if (probability === 0 || trials === 0) return 0
    const logFailure = Math.log1p(-probability)
    let successes = 0
    let position = 0
    for (;;) {
      position += Math.floor(Math.log(1 - uniform()) / logFailure) + 1
      if (position > trials) return successes
      successes++
    }
  }

  function logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * normal())
  }

  return { uniform, normal, poisson, binomial, logNormal }
}
