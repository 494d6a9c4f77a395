/**
 * The rules of an HTTPRoute as a list of routes (route-list.ts) and what a stage makes of a shifted rule: its
 * backendRefs split with explicit weights (Gateway API weights are relative), a RequestMirror filter, and the
 * inserted match and sticky rules. Pure.
 */
import { clone, type Json, type JsonObject } from '../common/json.js'
import type { StageEffect } from '../plan/stages.js'
import type { Plan, StringMatch } from '../plan/types.js'
import { backendNames, backendOf } from './http-route-plan.js'
import { STICKY_SUFFIX, type RouteList } from './route-list.js'
import { stickyCookie, stickyCookieMatch } from './sticky.js'

export type Rule = JsonObject
export interface BackendRef extends JsonObject {
  name: string
}
interface HeaderMatch extends JsonObject {
  type: string
  name: string
  value: string
}

export function refsOf(rule: Rule): BackendRef[] {
  return Array.isArray(rule.backendRefs) ? (rule.backendRefs as BackendRef[]) : []
}

export function listOf(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? (value as JsonObject[]) : []
}

/** A backendRef to the service or one of its version backends: a Service in the plan's namespace. */
export function isServiceRef(ref: JsonObject, plan: Plan, where: string): boolean {
  return (
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace ?? where) === plan.namespace &&
    typeof ref.name === 'string' &&
    backendNames(plan).has(ref.name)
  )
}

export function ours(rule: Rule, plan: Plan, where: string): BackendRef[] {
  return refsOf(rule).filter(ref => isServiceRef(ref, plan, where))
}

export function stableRef(rule: Rule, plan: Plan, where: string): BackendRef | undefined {
  const stable = backendOf(plan, plan.stable)
  return ours(rule, plan, where).find(ref => ref.name === stable)
}

/** Gateway API weights are relative, 1 when unset. */
export function weightOf(ref: JsonObject): number {
  return typeof ref.weight === 'number' ? ref.weight : 1
}

/** The canary backendRef is the stable one on the canary's Service: same namespace, port and filters. */
export function onCanary(ref: BackendRef, plan: Plan): BackendRef {
  return { ...clone(ref), name: backendOf(plan, plan.canary) }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

/**
 * The stable backendRef's share split exactly at `weight`: alone in the rule it is 100 (weights `100-w` and `w`);
 * beside other backendRefs it keeps its share, every weight of the rule multiplied by `factor` so the split is whole.
 */
export function splitWeights(rule: Rule, stable: BackendRef, weight: number) {
  const othersCarry = refsOf(rule).some(ref => ref !== stable && weightOf(ref) > 0)
  if (!othersCarry) return { stable: 100 - weight, canary: weight, factor: 1 }
  const share = weightOf(stable)
  const factor = weight === 100 || share === 0 ? 1 : 100 / gcd(100, share)
  const total = share * factor
  return { stable: total - (total * weight) / 100, canary: (total * weight) / 100, factor }
}

export const RULES: RouteList<Rule> = {
  routes: spec => (Array.isArray(spec?.rules) ? (spec.rules as Rule[]) : []),
  withRoutes: (spec, rules) => ({ ...spec, rules }),
  isShifted(rule, object, plan) {
    if (object.route) return rule.name === object.route
    return ours(rule, plan, object.namespace).length > 0
  },
  expand: (rule, base, plan, effect, revision, object) => [
    ...insertedRules(rule, base, plan, effect, revision, object.namespace),
    { ...rule, ...shiftedFields(rule, plan, effect, revision, object.namespace) }
  ]
}

function headerMatches(headers: Record<string, StringMatch>): HeaderMatch[] {
  return Object.entries(headers).map(([name, match]) => {
    if ('exact' in match) return { type: 'Exact', name, value: match.exact }
    if ('regex' in match) return { type: 'RegularExpression', name, value: match.regex }
    // The plan reader refuses prefix matches for HTTPRoute.
    throw new Error(`internal: header '${name}' has a prefix match, which HTTPRoute cannot express`)
  })
}

/** The rule's matches (the Gateway API default when it has none), each with `extra` header matches added. */
function withHeaders(matches: Json | undefined, extra: HeaderMatch[]): JsonObject[] {
  const fallback: JsonObject[] = [{ path: { type: 'PathPrefix', value: '/' } }]
  const blocks = listOf(matches).length ? listOf(matches) : fallback
  return blocks.map(block => ({
    ...clone(block),
    headers: [...clone(listOf(block.headers)), ...clone(extra)]
  }))
}

/** A copy of the rule (its filters, timeouts…) for requests that also carry `extra`, sent to `to`. */
function restrictedCopy(rule: Rule, name: string, extra: HeaderMatch[], to: BackendRef[]): Rule {
  const copy = clone(rule)
  delete copy.name
  delete copy.matches
  delete copy.backendRefs
  return { name, matches: withHeaders(rule.matches, extra), ...copy, backendRefs: to }
}

/** Rules inserted before a shifted rule: later match stages first, then the sticky rule. */
function insertedRules(
  rule: Rule,
  base: string,
  plan: Plan,
  effect: StageEffect,
  revision: string,
  where: string
): Rule[] {
  const stable = stableRef(rule, plan, where)
  const canaryOnly = stable ? [{ ...onCanary(stable, plan), weight: 100 }] : []
  const inserted = [...effect.matchStages]
    .reverse()
    .map(stage => restrictedCopy(rule, `${base}-${stage.name}`, headerMatches(stage.headers), canaryOnly))
  if (effect.sticky && plan.sessionAffinity) {
    const cookie = { regex: stickyCookieMatch(plan.sessionAffinity, revision) }
    inserted.push(
      restrictedCopy(rule, `${base}-${STICKY_SUFFIX}`, headerMatches({ cookie }), clone(canaryOnly))
    )
  }
  return inserted
}

function mirrorFilter(stable: BackendRef, plan: Plan, percent: number): JsonObject {
  const { namespace, port } = stable
  const backendRef: JsonObject = { group: '', kind: 'Service', name: backendOf(plan, plan.canary) }
  if (namespace !== undefined) backendRef.namespace = clone(namespace)
  if (port !== undefined) backendRef.port = clone(port)
  return { type: 'RequestMirror', requestMirror: { backendRef, percent } }
}

/** Adds `Set-Cookie` to the backend's responses, keeping its own filters. */
function setCookieOn(ref: BackendRef, cookie: string): void {
  const filters = listOf(ref.filters)
  const setCookie = { name: 'Set-Cookie', value: cookie }
  const existing = filters.find(filter => filter.type === 'ResponseHeaderModifier')
  if (existing) {
    const modifier = (existing.responseHeaderModifier as JsonObject | undefined) ?? {}
    existing.responseHeaderModifier = { ...modifier, add: [...listOf(modifier.add), setCookie] }
  } else {
    filters.push({ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [setCookie] } })
  }
  ref.filters = filters
}

/** The shifted rule's own backendRefs (and mirror) once the effect is in place; finalize is weight 100. */
function shiftedFields(
  rule: Rule,
  plan: Plan,
  effect: StageEffect,
  revision: string,
  where: string
): JsonObject {
  const all = refsOf(rule)
  const stable = stableRef(rule, plan, where)
  if (!stable) return {}
  const mirror: JsonObject = effect.mirror
    ? { filters: [...listOf(rule.filters), mirrorFilter(stable, plan, effect.mirror.percent)] }
    : {}
  if (effect.weight === 0) return { backendRefs: all, ...mirror }
  const weights = splitWeights(rule, stable, effect.weight)
  const canary: BackendRef = { ...onCanary(stable, plan), weight: weights.canary }
  if (effect.sticky && plan.sessionAffinity) setCookieOn(canary, stickyCookie(plan.sessionAffinity, revision))
  // A zero share is dropped; at 100% the canary takes the stable backendRef's place even when its share is 0.
  const kept: BackendRef = { ...clone(stable), weight: weights.stable }
  const pair = weights.stable === 0 ? [canary] : weights.canary === 0 ? [kept] : [kept, canary]
  const { factor } = weights
  const scaled = (ref: BackendRef) => (factor === 1 ? ref : { ...ref, weight: weightOf(ref) * factor })
  return { backendRefs: all.flatMap(ref => (ref === stable ? pair : [scaled(ref)])), ...mirror }
}
