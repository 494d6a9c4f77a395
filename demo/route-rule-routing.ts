/**
 * Istio 0.2 RouteRules as the sidecars ran them: the rules of the destination service are tried by precedence,
 * highest first, and the first whose `match.request.headers` fit wins (the pseudo-header `uri` is the path); a
 * rule's `mirror` copies every request it routes. Without any rule, traffic spreads over every deployed version.
 */
import { stringMatches } from './virtual-service-routing.js'
import {
  asArray,
  asObject,
  fingerprintOf,
  isObject,
  namesService,
  objectName,
  pathOnly,
  type CompiledRoute,
  type Json,
  type RequestPredicate,
  type RoutingTable,
  type Target
} from './route-table.js'

export interface RouteRuleOptions {
  service: string
  namespace: string
  versionLabel?: string
}

function precedence(rule: Json): number {
  const value = asObject(rule.spec).precedence
  return typeof value === 'number' ? value : 0
}

/** RouteRules of the service, highest precedence first (ties by name, for a stable order). */
export function orderRouteRules(rules: Json[], service: string, namespace: string): Json[] {
  return rules
    .filter(rule => {
      const where = String(asObject(rule.metadata).namespace ?? 'default')
      return namesService(asObject(asObject(rule.spec).destination).name, service, namespace, where)
    })
    .sort(
      (a, b) =>
        precedence(b) - precedence(a) ||
        String(asObject(a.metadata).name).localeCompare(String(asObject(b.metadata).name))
    )
}

function routeRulePredicate(rule: Json): RequestPredicate {
  const headers = asObject(asObject(asObject(asObject(rule.spec).match).request).headers)
  const checks = Object.entries(headers).map(([name, condition]): RequestPredicate => {
    const header = name.toLowerCase()
    return header === 'uri'
      ? r => stringMatches(condition, pathOnly(r.path))
      : r => stringMatches(condition, r.headers[header])
  })
  return request => checks.every(check => check(request))
}

export function compileRouteRules(
  rules: Json[],
  deployedVersions: string[],
  options: RouteRuleOptions
): RoutingTable {
  const versionLabel = options.versionLabel ?? 'version'
  const toTarget = (entry: Json): Target => {
    const version = asObject(entry.labels)[versionLabel]
    return typeof version === 'string' ? { version } : { other: 'every version' }
  }
  const ordered = orderRouteRules(rules, options.service, options.namespace)
  const routes = ordered.map((rule): CompiledRoute => {
    const spec = asObject(rule.spec)
    const entries = asArray(spec.route).map(asObject)
    const compiled: CompiledRoute = {
      name: String(asObject(rule.metadata).name ?? ''),
      matches: [routeRulePredicate(rule)],
      targets:
        entries.length > 0
          ? entries.map(entry => ({
              target: toTarget(entry),
              weight: typeof entry.weight === 'number' ? entry.weight : entries.length === 1 ? 100 : 0
            }))
          : deployedVersions.map(version => ({ target: { version }, weight: 1 }))
    }
    if (isObject(spec.mirror))
      compiled.mirror = { targets: [{ target: toTarget(spec.mirror), weight: 1 }], percent: 100 }
    return compiled
  })
  return {
    kind: 'RouteRule',
    sources: ordered.map(rule => `RouteRule ${objectName(rule)}`),
    routes,
    // Without a rule, Istio 0.2 balances over every pod of the service, whatever its version.
    fallback: deployedVersions.map(version => ({ version })),
    // Deployments matter only while no rule routes the service.
    fingerprint: fingerprintOf(ordered) + (ordered.length === 0 ? JSON.stringify(deployedVersions) : '')
  }
}
