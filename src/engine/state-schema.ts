/**
 * The shape a decoded state annotation must have before anything reads or renders it. Anyone who may edit the
 * routing object can write the annotation, often a wider group than the repository's writers: every string is
 * bounded and of a known form, every number finite, every phase known.
 */
import { dnsLabelProblem, labelValueProblem } from '../plan/names.js'
import { revisionProblem } from '../plan/revision.js'

const PHASE_NAMES = ['pinned', 'watching', 'held', 'passed', 'rolled-back', 'completed']
const MAX_TEXT = 2000
const MAX_NAME = 253
const MAX_ENTRIES = 64
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/
const RUN_ID = /^[0-9]{1,20}$/
const DIGEST = /^[0-9a-f]{16}$/
const OBJECT_KEY = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/

type Problem = string | undefined

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown, field: string, max = MAX_TEXT): Problem {
  if (typeof value !== 'string') return `${field} is not a string`
  if (value.length > max) return `${field} is longer than ${max} characters`
  // Line breaks and other controls never come from the action: its texts are one line.
  if (/[\p{Cc}\p{Cf}]/u.test(value)) return `${field} holds control or format characters`
  return undefined
}

function matches(value: unknown, pattern: RegExp, field: string): Problem {
  return typeof value === 'string' && pattern.test(value) ? undefined : `${field} is malformed`
}

function integer(value: unknown, field: string, min: number, max: number): Problem {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max
    ? undefined
    : `${field} is not an integer from ${min} to ${max}`
}

function optional(value: unknown, check: (value: unknown) => Problem): Problem {
  return value === undefined ? undefined : check(value)
}

function first(...problems: Problem[]): Problem {
  return problems.find(problem => problem !== undefined)
}

function digests(value: unknown, field: string): Problem {
  if (!isRecord(value)) return `${field} is not a mapping`
  const entries = Object.entries(value)
  if (entries.length > MAX_ENTRIES) return `${field} has too many entries`
  for (const [key, digest] of entries) {
    const problem = first(
      matches(key, OBJECT_KEY, `${field} key`),
      digest === null ? undefined : matches(digest, DIGEST, `${field}[${key}]`)
    )
    if (problem) return problem
  }
  return undefined
}

/** A string the given rule accepts. */
function valid(value: unknown, problemOf: (text: string) => string | undefined, problem: string): Problem {
  return typeof value === 'string' && problemOf(value) === undefined ? undefined : problem
}

function identity(value: unknown): Problem {
  if (!isRecord(value)) return 'release is not a mapping'
  const objects = value.objects
  return first(
    valid(value.service, dnsLabelProblem, 'release.service is not a service name'),
    valid(value.namespace, dnsLabelProblem, 'release.namespace is not a namespace'),
    valid(value.stable, labelValueProblem, 'release.stable is not a version'),
    valid(value.canary, labelValueProblem, 'release.canary is not a version'),
    valid(value.revision, revisionProblem, 'release.revision is not a revision'),
    matches(value.ladder, DIGEST, 'release.ladder'),
    Array.isArray(objects) && objects.length > 0 && objects.length <= MAX_ENTRIES
      ? objects.map((key, index) => matches(key, OBJECT_KEY, `release.objects[${index}]`)).find(Boolean)
      : 'release.objects is not a list of objects'
  )
}

function historyEntry(value: unknown, index: number): Problem {
  const field = `history[${index}]`
  if (!isRecord(value)) return `${field} is not a mapping`
  return first(
    matches(value.at, TIMESTAMP, `${field}.at`),
    valid(value.revision, revisionProblem, `${field}.revision is not a revision`),
    text(value.event, `${field}.event`),
    optional(value.runId, v => matches(v, RUN_ID, `${field}.runId`)),
    optional(value.stageIndex, v => integer(v, `${field}.stageIndex`, 0, 1000)),
    optional(value.weight, v => integer(v, `${field}.weight`, 0, 100))
  )
}

function rollback(value: unknown): Problem {
  if (!isRecord(value)) return 'rollback is not a mapping'
  return first(
    text(value.reason, 'rollback.reason'),
    integer(value.stageIndex, 'rollback.stageIndex', 0, 1000),
    matches(value.at, TIMESTAMP, 'rollback.at'),
    optional(value.check, v => text(v, 'rollback.check', MAX_NAME)),
    optional(value.threshold, v => text(v, 'rollback.threshold', MAX_NAME)),
    optional(value.value, v =>
      v === null || (typeof v === 'number' && Number.isFinite(v))
        ? undefined
        : 'rollback.value is not a number'
    )
  )
}

/** Why `value` is not a state this action wrote, or undefined when it has the shape of one. */
export function stateProblem(value: unknown): Problem {
  if (!isRecord(value)) return 'not a mapping'
  const history = value.history
  const noData = value.noData
  return first(
    identity(value.release),
    integer(value.stageIndex, 'stageIndex', 0, 1000),
    typeof value.phase === 'string' && PHASE_NAMES.includes(value.phase)
      ? undefined
      : 'phase is not a known phase',
    matches(value.appliedAt, TIMESTAMP, 'appliedAt'),
    optional(value.runId, v => matches(v, RUN_ID, 'runId')),
    digests(value.written, 'written'),
    digests(value.unmanaged, 'unmanaged'),
    optional(value.previous, v => digests(v, 'previous')),
    optional(value.rollback, rollback),
    optional(noData, v =>
      Array.isArray(v) && v.length <= MAX_ENTRIES
        ? v.map((name, index) => text(name, `noData[${index}]`, MAX_NAME)).find(Boolean)
        : 'noData is not a list'
    ),
    Array.isArray(history) && history.length <= MAX_ENTRIES
      ? history.map(historyEntry).find(Boolean)
      : 'history is not a list'
  )
}
