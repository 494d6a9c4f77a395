/**
 * The stage kinds: how each is written in a plan, and what it does to the traffic once applied. One entry per
 * kind in `STAGE_KINDS`; routers turn the resulting `StageEffect` into routing. Pure.
 */
import { digest } from '../common/json.js'
import {
  describeType,
  Mapping,
  readBoolean,
  readInteger,
  readList,
  readNonEmptyString,
  readRecord,
  readString,
  refine,
  type Reader
} from './plan-yaml.js'
import { dnsLabelProblem } from './names.js'
import { re2Problem } from './re2.js'
import type { MatchStage, MirrorStage, Plan, Stage, StageKind, StringMatch } from './types.js'

/** What traffic looks like once stages 1..k are in effect. */
export interface StageEffect {
  /** Canary share of unmatched traffic, as planned (a router may only approximate it: see appliedWeight). */
  weight: number
  /** Match stages in effect, in plan order. */
  matchStages: MatchStage[]
  /** The mirror stage in effect (only until the next stage). */
  mirror?: MirrorStage
  /** Requests with the sticky cookie go to the canary (sessionAffinity, while 0 < weight < 100). */
  sticky: boolean
  finalized: boolean
}

/** What reading one stage may need to know about the stages before it. */
export interface LadderSoFar {
  index: number
  count: number
  matchStages: number
  previousWeight?: number
}

export interface StageKindDefinition<S extends Stage = Stage> {
  /** Its name becomes part of object or route names (a DNS label), rather than only a label like `25%`. */
  namesObjects: boolean
  /** Reads the stage; `stage.fail` for anything wrong. */
  read(stage: Mapping, ladder: LadderSoFar): Omit<S, 'name' | 'bakeMs'> & { defaultName: string }
  /** The effect once this stage is applied on top of the effect of the stages before it. */
  apply(effect: StageEffect, stage: S): StageEffect
  /** The traffic split in words, for the ladder in reports. */
  describe(stage: S, plan: Plan, effect: StageEffect): string
}

const STRING_MATCH_KINDS = ['exact', 'prefix', 'regex'] as const

const readStringMatch: Reader<StringMatch> = (value, path, document) => {
  const match = Mapping.read(document, path, value, STRING_MATCH_KINDS)
  const kind = match.exactlyOneOf(STRING_MATCH_KINDS)
  const text = match.required(
    kind,
    kind === 'regex' ? refine(readNonEmptyString, re2Problem) : readNonEmptyString,
    `the ${kind} string`
  )
  return { [kind]: text } as StringMatch
}

function matchHeaderNameProblem(name: string): string | undefined {
  const valid = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/
  if (valid.test(name)) return undefined
  if (valid.test(name.toLowerCase())) {
    return `header names must be lowercase (Istio matches lowercased names); write '${name.toLowerCase()}'`
  }
  return `'${name}' is not a valid HTTP header name`
}

function describeMatch(match: StringMatch): string {
  if ('exact' in match) return `= ${match.exact}`
  if ('prefix' in match) return `^= ${match.prefix}`
  return `~ ${match.regex}`
}

function describeWeight(plan: Plan, weight: number): string {
  return weight === 100
    ? `100% ${plan.canary}`
    : `${100 - weight}% ${plan.stable} / ${weight}% ${plan.canary}`
}

const match: StageKindDefinition<MatchStage> = {
  namesObjects: true,
  read(stage, ladder) {
    const headers = stage
      .mapping('match', ['headers'])
      .required(
        'headers',
        readRecord(readStringMatch, matchHeaderNameProblem, 'must name at least one header to match'),
        'the request headers that send a request to the canary, e.g. cookie: { regex: "^(.*;)?(user=test)(;.*)?$" }'
      )
    const count = ladder.matchStages + 1
    return { kind: 'match', headers, defaultName: count === 1 ? 'test-user' : `match-${count}` }
  },
  apply: (effect, stage) => ({ ...effect, mirror: undefined, matchStages: [...effect.matchStages, stage] }),
  describe(stage, plan) {
    const headers = Object.entries(stage.headers).map(([name, m]) => `${name} ${describeMatch(m)}`)
    return `${headers.join(' and ')} → ${plan.canary}`
  }
}

const weight: StageKindDefinition<Extract<Stage, { kind: 'weight' }>> = {
  namesObjects: false,
  read(stage, ladder) {
    const value = stage.required('weight', readInteger(1, 100), 'the percent of traffic for the canary')
    if (ladder.previousWeight !== undefined && value <= ladder.previousWeight) {
      stage.fail(
        'weight',
        `must be greater than the previous weight stage (${ladder.previousWeight}); got ${value}`
      )
    }
    return { kind: 'weight', weight: value, defaultName: `${value}%` }
  },
  apply: (effect, stage) => ({ ...effect, mirror: undefined, weight: stage.weight }),
  describe: (stage, plan, effect) =>
    describeWeight(plan, stage.weight) +
    (effect.sticky ? `, sticky (cookie ${plan.sessionAffinity?.cookieName})` : '')
}

/** Methods whose requests are safe to copy: the copy's side effects happen again on the canary otherwise. */
const HTTP_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']

const readMethod: Reader<string> = (value, path, document) => {
  const method = readString(value, path, document).toUpperCase()
  if (HTTP_METHODS.includes(method)) return method
  return document.fail(path, `must be one of ${HTTP_METHODS.join(' | ')}; got '${method}'`)
}

const readPercent = readInteger(1, 100)

/** `mirror: 50`, or `mirror: { percent: 50, methods: [GET, HEAD] }` to copy only requests safe to repeat. */
const mirror: StageKindDefinition<MirrorStage> = {
  namesObjects: true,
  read(stage, ladder) {
    if (ladder.previousWeight !== undefined) {
      stage.fail(
        'mirror',
        'must come before the first weight stage: a mirror copies traffic to a canary no user sees yet; move it up'
      )
    }
    const value = stage.value('mirror')
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const settings = stage.mapping('mirror', ['percent', 'methods'])
      const percent = settings.required(
        'percent',
        readPercent,
        'the percent of requests copied to the canary'
      )
      const methods = settings.optional(
        'methods',
        readList(readMethod, 'must list at least one method, e.g. [GET, HEAD]')
      )
      return { kind: 'mirror', percent, ...(methods && { methods }), defaultName: 'mirror' }
    }
    if (typeof value !== 'number') {
      stage.fail(
        'mirror',
        `must be a percent from 1 to 100, or { percent, methods }; got ${describeType(value)}`
      )
    }
    const percent = stage.required('mirror', readPercent, 'the percent of requests copied to the canary')
    return { kind: 'mirror', percent, defaultName: 'mirror' }
  },
  apply: (effect, stage) => ({ ...effect, mirror: stage }),
  describe: (stage, plan) =>
    `100% ${plan.stable}, ${stage.percent}%${stage.methods ? ` of ${stage.methods.join('/')}` : ''} copied to ${plan.canary}`
}

const finalize: StageKindDefinition<Extract<Stage, { kind: 'finalize' }>> = {
  namesObjects: false,
  read(stage, ladder) {
    if (ladder.index !== ladder.count - 1) {
      stage.fail('finalize', 'must be the last stage; move it to the end of stages')
    }
    const settings = stage.mapping('finalize', ['deleteStable'], { allowEmpty: true })
    return {
      kind: 'finalize',
      deleteStable: settings.withDefault('deleteStable', readBoolean, false),
      defaultName: 'finalize'
    }
  },
  apply: effect => ({ ...effect, weight: 100, matchStages: [], mirror: undefined, finalized: true }),
  describe: (stage, plan) => `100% ${plan.canary}${stage.deleteStable ? `, delete ${plan.stable}` : ''}`
}

/** Every stage kind; the key a stage uses in YAML is its kind's name. */
export const STAGE_KINDS: { [K in StageKind]: StageKindDefinition<Extract<Stage, { kind: K }>> } = {
  match,
  weight,
  mirror,
  finalize
}

function definitionOf<S extends Stage>(stage: S): StageKindDefinition<S> {
  return STAGE_KINDS[stage.kind] as unknown as StageKindDefinition<S>
}

const NOTHING_APPLIED: StageEffect = { weight: 0, matchStages: [], sticky: false, finalized: false }

/** What traffic looks like once stages 1..stageIndex are in effect (0: the pinned routing). */
export function stageEffect(plan: Plan, stageIndex: number): StageEffect {
  const effect = plan.stages
    .slice(0, stageIndex)
    .reduce((so, stage) => definitionOf(stage).apply(so, stage), NOTHING_APPLIED)
  const sticky = plan.sessionAffinity !== undefined && effect.weight > 0 && effect.weight < 100
  return { ...effect, sticky }
}

/** The split of one stage in words, e.g. "95% v1 / 5% v2" or "cookie ~ ^(.*;)?user=test$ → v2". */
export function describeSplit(plan: Plan, stageIndex: number): string {
  const stage = plan.stages[stageIndex - 1]
  return definitionOf(stage).describe(stage, plan, stageEffect(plan, stageIndex))
}

/** Weight and finalize stages may be named like `25%`; other stage names become part of object names. */
export const readStageName = refine(readString, name =>
  /^\d{1,3}%$/.test(name) ? undefined : dnsLabelProblem(name)
)

export { definitionOf as stageKindOf }

/**
 * Digest of what the stages do to the routing: names, kinds and their settings, and the sticky cookie. Bake
 * times are left out: changing how long a stage is watched does not change what it does.
 */
export function ladderDigest(plan: Plan): string {
  const stages = plan.stages.map(stage => {
    const { bakeMs, ...routing } = stage
    void bakeMs
    return routing
  })
  return digest({ stages, sessionAffinity: plan.sessionAffinity ?? null })
}
