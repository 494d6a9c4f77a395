/**
 * Sequential canary-versus-stable tests whose false-rollback rate holds over a whole stage however often
 * they are evaluated. Pure functions: a check calls one at every evaluation with all the data of the stage
 * so far. See docs/sequential-analysis.md.
 */
export { sequentialErrorRateTest, rateRatioEstimate, snapshotIntervals } from './error-rate.js'
export type { CountsSnapshot, EventWords, VersionCounts } from './error-rate.js'
export { sequentialLatencyTest, exceedances, exceedanceTrials } from './latency.js'
export type { Exceedances, LatencyInterval, LatencyTestOptions, SortedLatencyInterval } from './latency.js'
export type { SequentialResult, SequentialVerdict } from './judgement.js'
export { SEQUENTIAL_DEFAULTS, sequentialOptionsProblem } from './options.js'
export type { SequentialDirection, SequentialOptions } from './options.js'
export { logBinomialEValue, logRateRatioEValue, LOG_RATIO_GRID } from './e-process.js'
export type { BinomialTrials, IntervalCounts, Side } from './e-process.js'
