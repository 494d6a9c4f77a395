/** The `analysis` section of a plan: timing, failure policy, and the checks (read by their kinds). */
import { formatDuration } from '../common/duration.js'
import {
  failOnDuplicateNames,
  Mapping,
  readDuration,
  readEnum,
  readInteger,
  readList,
  readNonEmptyString,
  refine,
  type Reader
} from './plan-yaml.js'
import type { Analysis, CheckBase, CheckKind, NoDataPolicy } from './types.js'
import type { PlanHead, PlanVocabulary } from './vocabulary.js'

const ANALYSIS_KEYS = ['interval', 'bake', 'failureLimit', 'onNoData', 'onCancel', 'verifyWindow', 'checks']
const NO_DATA_POLICIES: readonly NoDataPolicy[] = ['fail', 'ignore', 'inconclusive']

const DEFAULT_INTERVAL_MS = 30_000
const DEFAULT_BAKE_MS = 5 * 60_000
const VERIFY_WINDOW_INTERVALS = 3

const readPositiveDuration = readDuration({ positive: true })
const readNoDataPolicy = readEnum(NO_DATA_POLICIES)

/** Reads `plan.analysis`, which may be absent: every field has a default. */
export function readAnalysis(plan: Mapping, head: PlanHead, vocabulary: PlanVocabulary): Analysis {
  const analysis = plan.mapping('analysis', ANALYSIS_KEYS, { allowEmpty: true })
  const intervalMs = analysis.withDefault('interval', readPositiveDuration, DEFAULT_INTERVAL_MS)
  const checks = analysis.withDefault('checks', readList(checkReader(head, vocabulary)), [])
  failOnDuplicateNames(
    analysis.document,
    checks.map((check, index) => ({ name: check.name, path: [...analysis.at('checks'), index, 'name'] })),
    'check'
  )
  return {
    intervalMs,
    bakeMs: analysis.withDefault('bake', readDuration({ positive: false }), DEFAULT_BAKE_MS),
    failureLimit: analysis.withDefault('failureLimit', readInteger(1), 1),
    onNoData: analysis.withDefault('onNoData', readNoDataPolicy, 'fail'),
    onCancel: analysis.withDefault('onCancel', readEnum(['rollback', 'keep'] as const), 'rollback'),
    verifyWindowMs: analysis.withDefault(
      'verifyWindow',
      refine(readPositiveDuration, ms =>
        ms >= intervalMs
          ? undefined
          : `must be at least analysis.interval (${formatDuration(intervalMs)}) so the checks run at least once; got ${formatDuration(ms)}`
      ),
      VERIFY_WINDOW_INTERVALS * intervalMs
    ),
    checks
  }
}

/** A check: `name`, an optional `onNoData`, and exactly one kind key whose settings that kind reads. */
function checkReader(head: PlanHead, vocabulary: PlanVocabulary): Reader<CheckBase> {
  const kinds = Object.keys(vocabulary.checks) as CheckKind[]
  return (value, path, document) => {
    const check = Mapping.read(document, path, value, ['name', 'onNoData', ...kinds])
    const name = check.required('name', readNonEmptyString, 'each check needs a unique name for reports')
    const kind = check.exactlyOneOf(kinds)
    const onNoData = check.optional('onNoData', readNoDataPolicy)
    const settings = vocabulary.checks[kind].read(check, name, head, vocabulary.routers[head.router])
    return onNoData === undefined ? settings : { ...settings, onNoData }
  }
}
