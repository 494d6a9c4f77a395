/**
 * The data of a stage as the sequential checks read it: a grid of evaluation intervals anchored where the
 * stage was applied, and each version's counts or samples per interval, taken from Prometheus range
 * queries. Pure. Anchoring the grid at the stage's start (not at each run's evaluations) makes the data a
 * fixed function of the stage: a later evaluation, the next advance's re-watch, or `verify` sees the same
 * intervals with more after them, so the sequential test reads one process however often it is looked at.
 */
import type { RangeSeries } from './prometheus-client.js'

/** Prometheus refuses a range query of more than 11,000 points per series. */
export const MAX_GRID_INTERVALS = 10_000

/** Grid points at `startMs + k × stepMs`, k = 0..intervals (epoch ms); interval k ends at point k. */
export interface StageGrid {
  startMs: number
  stepMs: number
  /** Complete intervals between the first point and now. */
  intervals: number
}

/**
 * The complete intervals of `intervalMs` since the stage started, up to `now`. A stage older than
 * MAX_GRID_INTERVALS intervals keeps the latest of them.
 */
export function stageGrid(stageStartedAt: Date, now: Date, intervalMs: number): StageGrid {
  const complete = Math.max(0, Math.floor((now.getTime() - stageStartedAt.getTime()) / intervalMs))
  const skipped = Math.max(0, complete - MAX_GRID_INTERVALS)
  return {
    startMs: stageStartedAt.getTime() + skipped * intervalMs,
    stepMs: intervalMs,
    intervals: complete - skipped
  }
}

/** The range query covering grid points `first`..intervals. */
export function gridRange(grid: StageGrid, first: number): { start: Date; end: Date; stepSeconds: number } {
  return {
    start: new Date(grid.startMs + first * grid.stepMs),
    end: new Date(grid.startMs + grid.intervals * grid.stepMs),
    stepSeconds: grid.stepMs / 1000
  }
}

/** The grid point of a range query's timestamp (seconds), or undefined off the grid. */
function gridPoint(grid: StageGrid, seconds: number): number | undefined {
  const k = Math.round((seconds * 1000 - grid.startMs) / grid.stepMs)
  return k >= 0 && k <= grid.intervals ? k : undefined
}

/**
 * Each interval's increase of the counter series, summed over the series: per series, the difference of
 * its values at consecutive grid points (a value at point k is the counter's last sample at or before it). A
 * value lower than the one before is a counter reset (a restarted proxy): the series counted again from 0,
 * so its increase is the new value. A series first seen after point 0 started after the stage did (Istio
 * creates a counter with its first request), so it counts from 0 too. Exact whole counts, unlike
 * increase(), which extrapolates to the window's edges.
 */
export function counterIncrements(series: readonly RangeSeries[], grid: StageGrid): number[] {
  const totals = new Array<number>(grid.intervals).fill(0)
  for (const { values } of series) {
    let previous: number | undefined
    const points = values
      .map(([seconds, value]) => ({ k: gridPoint(grid, seconds), value }))
      .filter((point): point is { k: number; value: number } => point.k !== undefined)
      .sort((a, b) => a.k - b.k)
    for (const { k, value } of points) {
      if (!Number.isFinite(value) || value < 0) continue
      if (k > 0) totals[k - 1] += previous === undefined || value < previous ? value : value - previous
      previous = value
    }
  }
  return totals
}

/** Each interval's samples: the values of every series at the grid point that ends it. */
export function intervalSamples(series: readonly RangeSeries[], grid: StageGrid): number[][] {
  const samples = Array.from({ length: grid.intervals }, () => [] as number[])
  for (const { values } of series) {
    for (const [seconds, value] of values) {
      const k = gridPoint(grid, seconds)
      if (k !== undefined && k > 0 && Number.isFinite(value)) samples[k - 1].push(value)
    }
  }
  return samples
}

/** Running totals: entry k is the sum of the first k + 1 values. */
export function cumulative(values: readonly number[]): number[] {
  let sum = 0
  return values.map(value => (sum += value))
}
