/** Every routing API the action drives, by the plan's `router`. A new kind is one file and one entry here. */
import type { RouterKind } from '../plan/types.js'
import type { RouterSyntax } from '../plan/vocabulary.js'
import { httpRouteRouter } from './http-route.js'
import { routeRuleRouter } from './route-rule.js'
import type { RouterDefinition } from './router.js'
import { virtualServiceRouter } from './virtual-service.js'

export const ROUTERS: Record<RouterKind, RouterDefinition> = {
  VirtualService: virtualServiceRouter,
  RouteRule: routeRuleRouter,
  HTTPRoute: httpRouteRouter
}

/** What the plan reader needs of each router. */
export const ROUTER_SYNTAX = Object.fromEntries(
  Object.entries(ROUTERS).map(([kind, router]) => [kind, router.syntax])
) as Record<RouterKind, RouterSyntax>

export function routerFor(kind: RouterKind): RouterDefinition {
  return ROUTERS[kind]
}
