/** The analysis benchmark's code on a handful of small stages: shapes, the Prometheus semantics it models. */
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { METHODS, resultsTable, runAnalysisBench, SCENARIOS } from '../../bench/analysis/bench.js'
import { flaggerRollback, sequentialRollback, startSequentialServer } from '../../bench/analysis/methods.js'
import {
  histogramQuantile,
  ISTIO_BUCKETS_MS,
  rateWindow,
  simulateStage,
  STAGE,
  type Slot
} from '../../bench/analysis/stream.js'
import { parseArgs } from '../../bench/run.js'

function buckets(counts: Record<number, number>): Int32Array {
  const array = new Int32Array(ISTIO_BUCKETS_MS.length + 1)
  for (const [index, count] of Object.entries(counts)) array[Number(index)] = count
  return array
}

describe('analysis bench', () => {
  it('parses --analysis, --quick, --trials, --tolerance', () => {
    expect(parseArgs(['--analysis'])).toMatchObject({ analysis: { trials: 200, seed: 1 } })
    expect(parseArgs(['--analysis', '--quick']).analysis?.trials).toBe(50)
    expect(parseArgs(['--analysis', '--quick']).out).toMatch(/analysis-results\.json$/)
    expect(parseArgs(['--analysis', '--trials', '7', '--seed', '3', '--tolerance', '0.1']).analysis).toEqual({
      trials: 7,
      seed: 3,
      tolerance: 0.1
    })
    expect(() => parseArgs(['--quick'])).toThrow('--analysis')
    expect(parseArgs([]).analysis).toBeUndefined()
  })

  it("models Prometheus' histogram_quantile", () => {
    // Buckets (25, 50] with 6 and (50, 100] with 4: p90 has rank 9, 3 into the second bucket of 4:
    // 50 + 50 * 3/4 = 87.5. The median, rank 5 in the first of them: 25 + 25 * 5/6.
    const counts = buckets({ 5: 6, 6: 4 })
    expect(histogramQuantile(0.9, counts)).toBeCloseTo(87.5, 9)
    expect(histogramQuantile(0.5, counts)).toBeCloseTo(25 + (25 * 5) / 6, 9)
    // Rank in +Inf: the highest finite bound; no observations: NaN.
    expect(histogramQuantile(0.99, buckets({ 0: 1, [ISTIO_BUCKETS_MS.length]: 9 }))).toBe(3600000)
    expect(histogramQuantile(0.5, buckets({}))).toBeNaN()
  })

  it('reads a [1m] rate as the three scrape periods before the scrape', () => {
    const slots: Slot[] = Array.from({ length: 8 }, (_, j) => ({
      requests: 10 ** j,
      failed: 0,
      buckets: buckets({})
    }))
    expect(rateWindow(slots, 4, 4)?.requests).toBe(10 + 100 + 1000)
    expect(rateWindow(slots, 1, 4)?.requests).toBe(1)
    expect(rateWindow(slots, 0, 4)).toBeUndefined()
  })

  it('simulates the same stable traffic in every scenario', () => {
    const stage = { ...STAGE, requestsPerSecond: 20 }
    const healthy = simulateStage(stage, stage.stable, 5)
    const slower = simulateStage(stage, { ...stage.stable, latencyMedianMs: 75 }, 5)
    expect(slower.stable.slots).toEqual(healthy.stable.slots)
    expect(healthy.canary.slots).toHaveLength(40)
    expect(healthy.canary.latencies).toHaveLength(10)
  })

  it('rolls back as Flagger does when every check fails, at the fifth', () => {
    const stage = { ...STAGE, requestsPerSecond: 20 }
    const failing = simulateStage(stage, { ...stage.stable, failureRate: 0.5 }, 9)
    expect(flaggerRollback(failing, 10)).toEqual({ interval: 5, check: 'request-success-rate' })
  })

  it("runs the sequential checks on the stream's raw counters, interval by interval", async () => {
    const server = await startSequentialServer()
    try {
      // Half the canary's requests fail: the error check rejects at the first interval with data.
      const failing = simulateStage(STAGE, { ...STAGE.stable, failureRate: 0.5 }, 9)
      expect(await sequentialRollback(server, failing, 10, STAGE.scrapeSeconds)).toEqual({
        interval: 1,
        check: 'errors-vs-stable'
      })
      // Three times slower: most canary requests take over 100 ms, the slow-requests check rejects.
      const slow = simulateStage(STAGE, { ...STAGE.stable, latencyMedianMs: 150 }, 9)
      expect(await sequentialRollback(server, slow, 10, STAGE.scrapeSeconds)).toEqual({
        interval: 1,
        check: 'slow-vs-stable'
      })
      const healthy = simulateStage(STAGE, STAGE.stable, 9)
      expect(await sequentialRollback(server, healthy, 10, STAGE.scrapeSeconds)).toBeNull()
    } finally {
      await server.close()
    }
  })

  it('runs every method on every scenario and writes the results', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'analysis-bench-'))
    try {
      const out = path.join(dir, 'analysis-results.json')
      const lines: string[] = []
      const results = await runAnalysisBench({
        trials: 2,
        seed: 1,
        out,
        stage: { requestsPerSecond: 40 },
        log: line => lines.push(line)
      })
      const written = JSON.parse(readFileSync(out, 'utf8'))
      expect(written.methods).toEqual(results.methods)
      for (const method of METHODS)
        for (const scenario of Object.keys(SCENARIOS)) {
          const cell = written.methods[method][scenario]
          expect(cell.trials).toBe(2)
          expect(cell.rolledBack).toBeGreaterThanOrEqual(0)
          expect(
            cell.rolledBack === 0
              ? cell.medianIntervalsToRollback === null
              : cell.medianIntervalsToRollback >= 1
          ).toBe(true)
        }
      expect(written.settings).toMatchObject({
        trials: 2,
        requestsPerSecond: 40,
        canaryWeight: 0.05,
        intervals: 10
      })
      expect(written.goals).toHaveLength(4)
      expect(lines.join('\n')).toContain(resultsTable(results.methods))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
