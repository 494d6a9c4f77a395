export type * from './types.js'
export { watchStage } from './watch.js'
export { evaluateCheck, checkThreshold } from './checks/index.js'
export { mannWhitneyU, compareVerdict, relativeEffectSize, MIN_COMPARE_SAMPLES } from './mann-whitney.js'
export type { MannWhitneyResult, CompareInput, CompareResult } from './mann-whitney.js'
export { instantQuery, rangeQuery } from './prometheus-client.js'
export type {
  InstantSample,
  RangeSeries,
  InstantQueryOptions,
  RangeQueryOptions
} from './prometheus-client.js'
export { renderQuery, templateQuery, rateWindowMs } from './templates.js'
export type { QueryVariables } from './templates.js'
export { formatDuration, formatValue } from './format.js'
