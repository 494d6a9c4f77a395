/**
 * Times one Mann-Whitney evaluation (the `compare` check's verdict) on 10,000 + 10,000 samples. Run as a script
 * (`node --import tsx bench/mwu.ts --runs N`) it prints the timings as JSON, so the bench can time it on the
 * action's Node in a fresh process, where the first call is also the first compilation.
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { compareVerdict, mannWhitneyU } from '../src/analysis/mann-whitney.js'

export interface MwuTimings {
  samples: number
  /** The first evaluation in a fresh process (includes compiling the code). */
  firstMs: number
  /** Later evaluations, each on fresh data: compareVerdict (ranks, p-value, medians, effect size). */
  evaluationMs: number[]
  /** The same, mannWhitneyU alone. */
  testOnlyMs: number[]
  node: string
}

/** A deterministic generator (mulberry32), so every run ranks the same data. */
function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Latency-like samples (log-normal, in ms, rounded to 0.1 ms so there are ties, as Prometheus data has). */
export function latencySamples(count: number, scale: number, seed: number): number[] {
  const random = generator(seed)
  const values: number[] = []
  for (let i = 0; i < count; i++) {
    const u = Math.max(random(), 1e-12)
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
    values.push(Math.round(scale * Math.exp(0.5 * normal) * 10) / 10)
  }
  return values
}

export function timeMwu(runs: number, samples = 10_000): MwuTimings {
  const sets = Array.from({ length: runs + 1 }, (_, i) => ({
    canary: latencySamples(samples, 105, 2 * i + 1),
    stable: latencySamples(samples, 100, 2 * i + 2)
  }))
  const evaluate = (i: number) =>
    compareVerdict({ ...sets[i], direction: 'increase', tolerance: 0.25, confidence: 0.98 })
  let started = performance.now()
  const first = evaluate(0)
  const firstMs = performance.now() - started
  if (first.canarySamples !== samples || !Number.isFinite(first.u))
    throw new Error('mann-whitney: no verdict')
  const evaluationMs: number[] = []
  const testOnlyMs: number[] = []
  for (let i = 1; i <= runs; i++) {
    started = performance.now()
    evaluate(i)
    evaluationMs.push(performance.now() - started)
    started = performance.now()
    mannWhitneyU(sets[i].canary, sets[i].stable)
    testOnlyMs.push(performance.now() - started)
  }
  return { samples, firstMs, evaluationMs, testOnlyMs, node: process.version }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--runs')
  const runs = at > 0 ? Math.max(1, Number(process.argv[at + 1]) || 1) : 20
  process.stdout.write(JSON.stringify(timeMwu(runs)) + '\n')
}
