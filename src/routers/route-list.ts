/**
 * What the routers over a list of routes share (VirtualService `http`, HTTPRoute `rules`): which routes a
 * release manages, and how a stage rewrites them while every other route stays as it is now. Pure.
 */
import { clone, type JsonObject } from '../common/json.js'
import type { Plan } from '../plan/types.js'
import { stageEffect, type StageEffect } from '../plan/stages.js'
import {
  objectKey,
  type ManagedObject,
  type ObjectParts,
  type Restored,
  type RouterDefinition,
  type RoutingSpecs
} from './router.js'

export interface RouteList<R extends JsonObject = JsonObject> {
  /** The routes of a spec, in order. */
  routes(spec: JsonObject | null | undefined): R[]
  withRoutes(spec: JsonObject, routes: R[]): JsonObject
  /** The release shifts this route (inserted routes aside): it sends traffic to the service, or is the named one. */
  isShifted(route: R, object: ManagedObject, plan: Plan): boolean
  /**
   * What stands where the target's shifted `route` of `object` stood once `effect` is in effect: inserted routes,
   * then it.
   */
  expand(
    route: R,
    base: string,
    plan: Plan,
    effect: StageEffect,
    revision: string,
    object: ManagedObject
  ): R[]
}

/** What a shifted route's inserted routes are named after: its own name, else the service (and its position). */
export function baseName(route: JsonObject, index: number, shiftedCount: number, plan: Plan): string {
  if (typeof route.name === 'string') return route.name
  return shiftedCount > 1 ? `${plan.service}-${index}` : plan.service
}

/** Suffixes of every route a release may insert before a shifted route, for any stage of the plan. */
export function insertedSuffixes(plan: Plan): string[] {
  return [
    ...plan.stages
      .filter(stage => stage.kind === 'match' || (stage.kind === 'mirror' && stage.methods))
      .map(stage => stage.name),
    ...(plan.sessionAffinity ? [STICKY_SUFFIX] : [])
  ]
}

/** The route that keeps users with the sticky cookie on the canary. */
export const STICKY_SUFFIX = 'sticky'

/** Indexes of the routes of `spec` the release shifts. */
export function shiftedIndexes<R extends JsonObject>(
  list: RouteList<R>,
  spec: JsonObject | null | undefined,
  object: ManagedObject,
  plan: Plan,
  inserted: ReadonlySet<string> = new Set()
): number[] {
  return list
    .routes(spec)
    .flatMap((route, index) =>
      !isInserted(route, inserted) && list.isShifted(route, object, plan) ? [index] : []
    )
}

function isInserted(route: JsonObject, inserted: ReadonlySet<string>): boolean {
  return typeof route.name === 'string' && inserted.has(route.name)
}

/** Names of every route the release may insert into this object, as the target's shifted routes name them. */
export function insertedNames<R extends JsonObject>(
  list: RouteList<R>,
  target: JsonObject | null | undefined,
  object: ManagedObject,
  plan: Plan
): Set<string> {
  const routes = list.routes(target)
  const shifted = shiftedIndexes(list, target, object, plan)
  const suffixes = insertedSuffixes(plan)
  return new Set(
    shifted.flatMap(index =>
      suffixes.map(suffix => `${baseName(routes[index], index, shifted.length, plan)}-${suffix}`)
    )
  )
}

/**
 * `current` with the managed routes as the stage makes them from the target; undefined when the current shifted
 * routes no longer pair one to one with the target's.
 */
function merged<R extends JsonObject>(
  list: RouteList<R>,
  current: JsonObject,
  target: JsonObject,
  object: ManagedObject,
  plan: Plan,
  effect: StageEffect,
  revision: string
): JsonObject | undefined {
  const targetRoutes = list.routes(target)
  const targetShifted = shiftedIndexes(list, target, object, plan)
  const inserted = insertedNames(list, target, object, plan)
  const kept = list.routes(current).filter(route => !isInserted(route, inserted))
  const currentShifted = kept.flatMap((route, index) => (list.isShifted(route, object, plan) ? [index] : []))
  if (currentShifted.length !== targetShifted.length) return undefined
  const routes = kept.flatMap((route, index) => {
    const position = currentShifted.indexOf(index)
    if (position === -1) return [route]
    const targetIndex = targetShifted[position]
    const source = targetRoutes[targetIndex]
    return list.expand(
      clone(source),
      baseName(source, targetIndex, targetShifted.length, plan),
      plan,
      effect,
      revision,
      object
    )
  })
  // The routes are new or kept as they are: copy the rest of the object only.
  return list.withRoutes(clone(list.withRoutes(current, [])), routes)
}

/** The whole object as the stage makes it from the target: for an object whose managed routes cannot be paired. */
function fromTarget<R extends JsonObject>(
  list: RouteList<R>,
  target: JsonObject,
  object: ManagedObject,
  plan: Plan,
  effect: StageEffect,
  revision: string
): JsonObject {
  return merged(list, target, target, object, plan, effect, revision) as JsonObject
}

/** `RouterDefinition.stage` for list routers. */
export function stageRoutes<R extends JsonObject>(
  list: RouteList<R>,
  objects: ManagedObject[],
  current: RoutingSpecs,
  target: RoutingSpecs,
  plan: Plan,
  stageIndex: number,
  revision: string
): RoutingSpecs {
  const effect = stageEffect(plan, stageIndex)
  return Object.fromEntries(
    objects.map(object => {
      const base = target[object.key] as JsonObject
      const now = current[object.key] ?? base
      return [
        object.key,
        merged(list, now, base, object, plan, effect, revision) ??
          fromTarget(list, base, object, plan, effect, revision)
      ]
    })
  )
}

/** `RouterDefinition.restore` for list routers. */
export function restoreRoutes<R extends JsonObject>(
  list: RouteList<R>,
  objects: ManagedObject[],
  current: RoutingSpecs,
  target: RoutingSpecs,
  plan: Plan
): Restored {
  const effect = stageEffect(plan, 0)
  const reverted: string[] = []
  const specs = Object.fromEntries(
    objects.map(object => {
      const base = target[object.key] as JsonObject
      const now = current[object.key]
      const restored = now ? merged(list, now, base, object, plan, effect, '') : undefined
      if (!restored) reverted.push(object.key)
      return [object.key, restored ?? clone(base)]
    })
  )
  return { specs, reverted }
}

/** `RouterDefinition.parts` for list routers: the shifted and inserted routes, and the object without them. */
export function routeParts<R extends JsonObject>(
  list: RouteList<R>,
  objects: ManagedObject[],
  specs: RoutingSpecs,
  target: RoutingSpecs,
  plan: Plan
): Record<string, ObjectParts> {
  return Object.fromEntries(
    objects.map(object => {
      const spec = specs[object.key]
      if (!spec) return [object.key, { managed: null, rest: null }]
      const inserted = insertedNames(list, target[object.key], object, plan)
      const managed = (route: R) => isInserted(route, inserted) || list.isShifted(route, object, plan)
      const routes = list.routes(spec)
      return [
        object.key,
        {
          managed: routes.filter(managed),
          rest: list.withRoutes(
            spec,
            routes.filter(route => !managed(route))
          )
        }
      ]
    })
  )
}

/** The canary share of a destination share: what `weight` percent of it rounds to. */
export function canaryShare(share: number, weight: number): number {
  return Math.round((share * weight) / 100)
}

/**
 * Weight stages that cannot move traffic on a route whose stable destination carries `share` of it: their share
 * rounds to the stage before's, or a stage below 100% leaves nothing on stable.
 */
export function shareProblems(plan: Plan, share: number, where: string): string[] {
  const problems: string[] = []
  let before = 0
  for (const stage of plan.stages) {
    if (stage.kind !== 'weight') continue
    const share_ = canaryShare(share, stage.weight)
    if (share_ === before) {
      problems.push(
        `${where}: stage '${stage.name}' cannot change the split: its stable destination carries ${share}% of the route, and ${stage.weight}% of that rounds to ${share_}%, as before; raise the stage's weight or give the stable destination a larger share`
      )
    } else if (stage.weight < 100 && share_ === share) {
      problems.push(
        `${where}: stage '${stage.name}' would send all of the stable destination's ${share}% to the canary (${stage.weight}% rounds up to it); lower the weight or make it 100`
      )
    }
    before = share_
  }
  return problems
}

/**
 * Names the stages would insert beside a shifted route that another route already has. `taken` holds the names in
 * use and grows by the inserted ones; `words` name the routes in the message ("an http route" ... "route").
 */
export function insertedNameClashes(
  route: JsonObject,
  index: number,
  shiftedCount: number,
  plan: Plan,
  taken: Set<unknown>,
  where: string,
  words: { existing: string; inserted: string }
): string[] {
  const base = baseName(route, index, shiftedCount, plan)
  return insertedSuffixes(plan).flatMap(suffix => {
    const inserted = `${base}-${suffix}`
    const clash = taken.has(inserted)
    taken.add(inserted)
    if (!clash) return []
    const noun = words.inserted
    const by =
      suffix === STICKY_SUFFIX ? `the sticky ${noun} of sessionAffinity` : `the ${noun} stage '${suffix}'`
    return [
      `${where}: ${words.existing} is already named '${inserted}', the name of ${by} adds; rename the stage or the ${noun}`
    ]
  })
}

/** The routing objects a plan lists, each with its key. */
export function listedObjects(plan: Plan): ManagedObject[] {
  return plan.routing.objects.map(object => ({ ...object, key: objectKey(object) }))
}

/** What a router over route lists checks and pins on each of its objects. */
export interface ObjectHooks {
  validate(spec: JsonObject | null, object: ManagedObject, plan: Plan): string[]
  pin(spec: JsonObject, object: ManagedObject, plan: Plan): JsonObject
}

/** The hooks of a router over route lists that apply its per-object rules to every object the plan lists. */
export function routeListHooks<R extends JsonObject>(
  list: RouteList<R>,
  hooks: ObjectHooks
): Pick<RouterDefinition, 'objects' | 'validate' | 'pin' | 'stage' | 'restore' | 'parts'> {
  return {
    objects: listedObjects,
    validate: (current, plan) =>
      listedObjects(plan).flatMap(object => hooks.validate(current[object.key] ?? null, object, plan)),
    pin: (current, plan) =>
      Object.fromEntries(
        listedObjects(plan).map(object => [
          object.key,
          hooks.pin(current[object.key] as JsonObject, object, plan)
        ])
      ),
    stage: (current, target, plan, stageIndex, revision) =>
      stageRoutes(list, listedObjects(plan), current, target, plan, stageIndex, revision),
    restore: (current, target, plan) => restoreRoutes(list, listedObjects(plan), current, target, plan),
    parts: (specs, target, plan) => routeParts(list, listedObjects(plan), specs, target, plan)
  }
}
