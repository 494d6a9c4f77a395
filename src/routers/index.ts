import type { RouterKind } from '../plan/types.js'
import { RouteRuleRouter } from './route-rule.js'
import type { Router } from './router.js'
import { VirtualServiceRouter } from './virtual-service.js'

export function routerFor(kind: RouterKind): Router {
  return kind === 'RouteRule' ? new RouteRuleRouter() : new VirtualServiceRouter()
}
