/** The sequential checks' view of a stage: the grid of intervals, exact counter increments, samples. */
import { describe, expect, it } from '@jest/globals'
import type { RangeSeries } from '../../src/analysis/prometheus-client.js'
import {
  counterIncrements,
  cumulative,
  gridRange,
  intervalSamples,
  MAX_GRID_INTERVALS,
  stageGrid
} from '../../src/analysis/version-series.js'

const START = Date.UTC(2026, 0, 1, 12, 0, 0)
const grid = { startMs: START, stepMs: 60_000, intervals: 4 }

/** A series with a value at each listed grid point. */
function series(points: Record<number, number>, metric: Record<string, string> = {}): RangeSeries {
  return {
    metric,
    values: Object.entries(points).map(([k, value]): [number, number] => [
      (START + Number(k) * 60_000) / 1000,
      value
    ])
  }
}

describe('stageGrid', () => {
  it('counts the complete intervals since the stage started', () => {
    const at = (ms: number) => stageGrid(new Date(START), new Date(START + ms), 60_000)
    expect(at(0)).toEqual({ startMs: START, stepMs: 60_000, intervals: 0 })
    expect(at(59_999).intervals).toBe(0)
    expect(at(60_000).intervals).toBe(1)
    expect(at(4 * 60_000 + 30_000).intervals).toBe(4)
  })

  it('keeps the latest intervals of a very old stage, on the same grid', () => {
    const old = stageGrid(new Date(START), new Date(START + (MAX_GRID_INTERVALS + 5) * 1000 + 500), 1000)
    expect(old).toEqual({ startMs: START + 5000, stepMs: 1000, intervals: MAX_GRID_INTERVALS })
  })

  it('asks Prometheus for the grid points from `first` to the last, one interval apart', () => {
    expect(gridRange(grid, 0)).toEqual({
      start: new Date(START),
      end: new Date(START + 4 * 60_000),
      stepSeconds: 60
    })
    expect(gridRange(grid, 1).start).toEqual(new Date(START + 60_000))
  })
})

describe('counterIncrements', () => {
  it('sums each series’ differences between grid points', () => {
    const increments = counterIncrements(
      [series({ 0: 100, 1: 110, 2: 130, 3: 130, 4: 135 }), series({ 0: 5, 1: 6, 2: 6, 3: 9, 4: 9 })],
      grid
    )
    expect(increments).toEqual([11, 20, 3, 5])
    expect(cumulative(increments)).toEqual([11, 31, 34, 39])
  })

  it('reads a counter that went down as a reset, counted again from 0', () => {
    // A restarted proxy: 130 then 4 means 4 new requests, not -126.
    expect(counterIncrements([series({ 0: 100, 1: 130, 2: 4, 3: 10, 4: 12 })], grid)).toEqual([30, 4, 6, 2])
  })

  it('counts a series that appears during the stage from 0, and bridges a gap in a series', () => {
    // The first 503 of the stage creates its series at 2; a scrape missing at 3 does not lose requests.
    expect(counterIncrements([series({ 2: 2, 4: 7 })], grid)).toEqual([0, 2, 0, 5])
    expect(counterIncrements([series({ 0: 10, 1: 12, 4: 20 })], grid)).toEqual([2, 0, 0, 8])
  })

  it('ignores NaN and points off the grid', () => {
    const off: RangeSeries = {
      metric: {},
      values: [
        [START / 1000, 1],
        [(START + 60_000) / 1000, NaN],
        [(START + 120_000) / 1000, 4],
        [(START + 10 * 60_000) / 1000, 1000]
      ]
    }
    expect(counterIncrements([off], grid)).toEqual([0, 3, 0, 0])
  })
})

describe('intervalSamples', () => {
  it('gives each interval the values of every series at the point that ends it', () => {
    const samples = intervalSamples(
      [series({ 1: 30, 2: 31, 4: 33 }, { pod: 'a' }), series({ 1: 40, 3: NaN, 4: 41 }, { pod: 'b' })],
      grid
    )
    expect(samples).toEqual([[30, 40], [31], [], [33, 41]])
  })
})
