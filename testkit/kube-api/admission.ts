/**
 * Validation and admission: what a real cluster with Istio installed rejects, and how it words it.
 *  - apiserver object-meta rules (names, labels, annotation size) and a few built-in kinds' rules;
 *  - CRD structural schemas (Istio 1.18 / Gateway API 1.0, via @kubernetes-models; HTTPRoute as of v1.2 with its
 *    CEL rules, see gateway-api.ts), 422 Invalid;
 *  - Istio's validating webhook (validation.istio.io) on VirtualService / DestinationRule, 400 with its wording;
 *  - Istio 0.2-0.7 Pilot's RouteRule validation (config.istio.io/v1alpha2), webhook pilot.validation.istio.io.
 */
import { RE2JS } from 're2js'
import { ApiError, badRequest, invalid, webhookDenied, type FieldError } from './errors.js'
import type { ResourceDef } from './resources.js'
import { httpRouteCelErrors } from './gateway-api.js'
import { schemaErrors, type AjvError } from './schemas.js'
import { matchSelectorObject } from './selectors.js'
import { deepEqual, fieldPath, goValue, isObj, type Obj } from './util.js'

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/

const MSG_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const MSG_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const MSG_1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
const MSG_LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
const MSG_QUALIFIED =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

export const ANNOTATIONS_MAX = 262144

const req = (field: string): FieldError => ({ field, type: 'FieldValueRequired', detail: 'Required value' })
const inv = (field: string, value: unknown, why: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  detail: `Invalid value: ${goValue(value)}: ${why}`
})

function qualifiedKeyErrors(field: string, key: string): FieldError[] {
  const slash = key.lastIndexOf('/')
  const name = slash >= 0 ? key.slice(slash + 1) : key
  const prefix = slash >= 0 ? key.slice(0, slash) : ''
  const errs: FieldError[] = []
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name)) errs.push(inv(field, key, MSG_QUALIFIED))
  if (slash >= 0 && (!prefix || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    errs.push(inv(field, key, `prefix part ${MSG_SUBDOMAIN}`))
  }
  return errs
}

/** apimachinery ValidateObjectMeta (the parts that matter here). */
export function validateMeta(r: ResourceDef, obj: Obj): FieldError[] {
  const md = (obj.metadata ?? {}) as Obj
  const errs: FieldError[] = []
  const name = md.name
  if (typeof name !== 'string' || name === '') {
    errs.push({
      field: 'metadata.name',
      type: 'FieldValueRequired',
      detail: 'Required value: name or generateName is required'
    })
  } else if (r.kind === 'Service') {
    if (!DNS1035_LABEL.test(name) || name.length > 63) errs.push(inv('metadata.name', name, MSG_1035))
  } else if (r.kind === 'Namespace') {
    if (!DNS1123_LABEL.test(name) || name.length > 63) errs.push(inv('metadata.name', name, MSG_LABEL))
  } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    errs.push(inv('metadata.name', name, MSG_SUBDOMAIN))
  }
  if (md.labels !== undefined && md.labels !== null) {
    if (!isObj(md.labels)) errs.push(inv('metadata.labels', md.labels, 'must be a map of strings'))
    else
      for (const [k, v] of Object.entries(md.labels)) {
        errs.push(...qualifiedKeyErrors('metadata.labels', k))
        if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
          errs.push(inv('metadata.labels', v, MSG_LABEL_VALUE))
        }
      }
  }
  if (md.annotations !== undefined && md.annotations !== null) {
    if (!isObj(md.annotations))
      errs.push(inv('metadata.annotations', md.annotations, 'must be a map of strings'))
    else {
      let total = 0
      for (const [k, v] of Object.entries(md.annotations)) {
        errs.push(...qualifiedKeyErrors('metadata.annotations', k.toLowerCase()))
        total += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v))
      }
      if (total > ANNOTATIONS_MAX) {
        errs.push({
          field: 'metadata.annotations',
          type: 'FieldValueTooLong',
          detail: `Too long: must have at most ${ANNOTATIONS_MAX} bytes`
        })
      }
    }
  }
  return errs
}

// ---------------------------------------------------------------- CRD schema errors, worded as the apiserver

function jsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function ajvField(instancePath: string): string {
  return fieldPath(
    instancePath
      .split('/')
      .slice(1)
      .map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  )
}

export function schemaFieldErrors(errors: AjvError[]): FieldError[] {
  const composite = errors.filter(e => e.keyword === 'oneOf' || e.keyword === 'anyOf').map(e => e.schemaPath)
  const out: FieldError[] = []
  const seen = new Set<string>()
  for (const e of errors) {
    if (e.instancePath === '/apiVersion' || e.instancePath === '/kind') continue
    if (composite.some(p => e.schemaPath.startsWith(p + '/'))) continue
    let field = ajvField(e.instancePath)
    let fe: FieldError
    const v = e.data
    switch (e.keyword) {
      case 'type': {
        const t = String(e.params.type).split(',')[0]
        fe = {
          field,
          type: 'FieldValueTypeInvalid',
          detail: `Invalid value: "${jsonType(v)}": ${field} in body must be of type ${t}: "${jsonType(v)}"`
        }
        break
      }
      case 'required': {
        const missing = String(e.params.missingProperty)
        field = field ? `${field}.${missing}` : missing
        fe = req(field)
        break
      }
      case 'enum':
        fe = {
          field,
          type: 'FieldValueNotSupported',
          detail: `Unsupported value: ${goValue(v)}: supported values: ${(
            (e.params.allowedValues as unknown[]) ?? []
          )
            .map(x => goValue(x))
            .join(', ')}`
        }
        break
      case 'minimum':
        fe = inv(field, v, `${field} in body should be greater than or equal to ${e.params.limit}`)
        break
      case 'maximum':
        fe = inv(field, v, `${field} in body should be less than or equal to ${e.params.limit}`)
        break
      case 'pattern':
        fe = inv(field, v, `${field} in body should match '${e.params.pattern}'`)
        break
      case 'minLength':
        fe = inv(field, v, `${field} in body should be at least ${e.params.limit} chars long`)
        break
      case 'maxLength':
        fe = {
          field,
          type: 'FieldValueTooLong',
          detail: `Too long: may not be more than ${e.params.limit} bytes`
        }
        break
      case 'minItems':
        fe = inv(field, v, `${field} in body should have at least ${e.params.limit} items`)
        break
      case 'maxItems':
        fe = {
          field,
          type: 'FieldValueTooMany',
          detail: `Too many: ${(v as unknown[]).length}: must have at most ${e.params.limit} items`
        }
        break
      case 'oneOf': {
        const passing = e.params.passingSchemas
        const found = Array.isArray(passing)
          ? `Found ${passing.length} valid alternatives`
          : 'Found none valid'
        fe = inv(
          field,
          jsonType(v),
          `${field} in body must validate one and only one schema (oneOf). ${found}`
        )
        break
      }
      case 'anyOf':
        fe = inv(field, jsonType(v), `${field} in body must validate at least one schema (anyOf)`)
        break
      case 'format':
        fe = inv(field, v, `${field} in body must be of type ${e.params.format}: ${goValue(v)}`)
        break
      default:
        fe = inv(field, v, `${field} in body ${e.message ?? 'is invalid'}`)
    }
    const key = `${fe.field}|${fe.detail}`
    if (!seen.has(key)) {
      seen.add(key)
      out.push(fe)
    }
  }
  return out
}

// ---------------------------------------------------------------- Istio webhook (istio.io/istio pkg/config/validation)

function istioMessage(errs: string[]): string {
  if (errs.length === 1) return `configuration is invalid: ${errs[0]}`
  return `configuration is invalid: ${errs.length} errors occurred:\n${errs.map(e => `\t* ${e}`).join('\n')}\n\n`
}

const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/

function validateWildcardDomain(d: string): string | undefined {
  if (d.length > 255) return `domain name "${d}" too long (max 255)`
  if (d.length === 0) return 'domain name is empty'
  const [first, rest] = [d.split('.')[0], d.split('.').slice(1)]
  if (!WILDCARD_LABEL.test(first)) return `domain name "${d}" invalid (label "${first}" invalid)`
  for (const l of rest) if (!DNS1123_LABEL.test(l)) return `domain name "${d}" invalid (label "${l}" invalid)`
  return undefined
}

function validateStringMatchRegex(m: unknown, where: string, errs: string[]) {
  if (!isObj(m) || typeof m.regex !== 'string') return
  if (m.regex === '') {
    errs.push(`"${where}": regex string match should not be empty`)
    return
  }
  try {
    RE2JS.compile(m.regex)
  } catch (e) {
    errs.push(`"${where}": error parsing regexp: ${(e as Error).message}`)
  }
}

function validateDestination(d: unknown, errs: string[]) {
  if (!isObj(d)) return
  const host = typeof d.host === 'string' ? d.host : ''
  if (host === '*') errs.push('invalid destination host *')
  else {
    const e = validateWildcardDomain(host)
    if (e) errs.push(e)
  }
  if (typeof d.subset === 'string' && d.subset !== '' && !DNS1123_LABEL.test(d.subset)) {
    errs.push(`subset name is invalid: ${d.subset}`)
  }
  const port = isObj(d.port) ? d.port.number : undefined
  if (typeof port === 'number' && (port < 1 || port > 65535))
    errs.push(`port number ${port} must be in the range 1..65535`)
}

function validateRouteDestinations(routes: unknown[], errs: string[]) {
  let total = 0
  for (const rd of routes) {
    if (!isObj(rd)) {
      errs.push('weight may not be nil')
      continue
    }
    if (rd.destination === undefined || rd.destination === null) errs.push('destination is required')
    validateDestination(rd.destination, errs)
    const w = typeof rd.weight === 'number' ? rd.weight : 0
    if (w < 0) errs.push(`weight ${w} < 0`)
    total += w
  }
  if (routes.length > 1 && total === 0) errs.push('total destination weight = 0')
}

export function istioVirtualServiceErrors(obj: Obj): string[] {
  const spec = isObj(obj.spec) ? obj.spec : {}
  const errs: string[] = []
  const hosts = Array.isArray(spec.hosts) ? (spec.hosts as string[]) : []
  const gateways = Array.isArray(spec.gateways) ? spec.gateways : []
  const http = Array.isArray(spec.http) ? spec.http : []
  const tcp = Array.isArray(spec.tcp) ? spec.tcp : []
  const tls = Array.isArray(spec.tls) ? spec.tls : []
  // no hosts: a delegate VirtualService (delegation is on by default), which takes no gateways and no tcp/tls
  if (hosts.length === 0) {
    if (gateways.length > 0) errs.push('delegate virtual service must have no gateways specified')
    if (tls.length > 0) errs.push('delegate virtual service must have no tls route specified')
    if (tcp.length > 0) errs.push('delegate virtual service must have no tcp route specified')
  }
  for (const h of hosts) {
    if (h === '*' && gateways.length === 0) continue
    const e = validateWildcardDomain(String(h))
    if (e && !/^[0-9.:/]+$/.test(String(h))) errs.push(e)
  }
  if (http.length === 0 && tcp.length === 0 && tls.length === 0) {
    errs.push('http, tcp or tls must be provided in virtual service')
  }
  for (const route of http) {
    if (!isObj(route)) {
      errs.push('http route may not be null')
      continue
    }
    const hasRoute = Array.isArray(route.route) && route.route.length > 0
    if (!hasRoute && !route.redirect && !route.directResponse && !route.delegate) {
      errs.push('HTTP route, redirect, direct response or delegate is required')
    }
    if (hasRoute && route.redirect) errs.push('HTTP route cannot contain both route and redirect')
    for (const m of Array.isArray(route.match) ? route.match : []) {
      if (!isObj(m)) continue
      for (const f of ['uri', 'scheme', 'method', 'authority']) validateStringMatchRegex(m[f], f, errs)
      for (const f of ['headers', 'queryParams', 'withoutHeaders']) {
        if (!isObj(m[f])) continue
        for (const [name, sm] of Object.entries(m[f] as Obj)) {
          if (sm === null || sm === undefined) errs.push(`header match ${name} cannot be null`)
          if (f !== 'queryParams' && name === '') errs.push('header name cannot be empty')
          validateStringMatchRegex(sm, `${f}.${name}`, errs)
        }
      }
    }
    if (hasRoute) validateRouteDestinations(route.route as unknown[], errs)
  }
  for (const route of [...tcp, ...tls]) {
    if (isObj(route) && Array.isArray(route.route)) validateRouteDestinations(route.route, errs)
  }
  return errs
}

export function istioDestinationRuleErrors(obj: Obj): string[] {
  const spec = isObj(obj.spec) ? obj.spec : {}
  const errs: string[] = []
  const host = typeof spec.host === 'string' ? spec.host : ''
  const e = validateWildcardDomain(host)
  if (e) errs.push(e)
  const names = new Set<string>()
  for (const s of Array.isArray(spec.subsets) ? spec.subsets : []) {
    if (!isObj(s)) continue
    const name = typeof s.name === 'string' ? s.name : ''
    if (!DNS1123_LABEL.test(name)) errs.push(`subset name is invalid: ${name}`)
    if (names.has(name)) errs.push(`duplicate subset names: ${name}`)
    names.add(name)
    if (isObj(s.labels)) {
      for (const [k, v] of Object.entries(s.labels)) {
        if (qualifiedKeyErrors('', k).length) errs.push(`invalid tag key: "${k}"`)
        if (typeof v !== 'string' || !LABEL_VALUE.test(v)) errs.push(`invalid tag value: "${v}"`)
      }
    }
  }
  return errs
}

// ---------------------------------------------------------------- Istio 0.2-0.7 Pilot RouteRule rules

export function routeRuleErrors(obj: Obj): string[] {
  const spec = isObj(obj.spec) ? obj.spec : {}
  const errs: string[] = []
  const dest = spec.destination
  if (!isObj(dest)) errs.push('route rule must have a destination service')
  else {
    const name = dest.name
    if (typeof name !== 'string' || name === '')
      errs.push('destination.name is required: name or service is mandatory for a service reference')
    else if (!DNS1123_LABEL.test(name)) errs.push(`name "${name}" must be a valid label`)
    if (typeof dest.namespace === 'string' && dest.namespace !== '' && !DNS1123_LABEL.test(dest.namespace)) {
      errs.push(`namespace "${dest.namespace}" must be a valid label`)
    }
    if (isObj(dest.labels) && Object.keys(dest.labels).length > 0)
      errs.push('route rule destination labels must be empty')
  }
  if (
    spec.precedence !== undefined &&
    !(typeof spec.precedence === 'number' && Number.isInteger(spec.precedence))
  ) {
    errs.push(`precedence must be an integer, got ${JSON.stringify(spec.precedence)}`)
  }
  const match = isObj(spec.match) ? spec.match : undefined
  const headers = match && isObj(match.request) && isObj(match.request.headers) ? match.request.headers : {}
  for (const [name, value] of Object.entries(headers)) {
    if (name === '') errs.push('header name "" invalid: header name cannot be empty')
    else if (name.toLowerCase() !== name) errs.push(`header name "${name}" invalid: must be in lower case`)
    const kinds = isObj(value) ? ['exact', 'prefix', 'regex'].filter(k => value[k] !== undefined) : []
    if (kinds.length !== 1) {
      errs.push(
        `header "${name}" value invalid: ${kinds.length === 0 ? 'unrecognized string match' : `exactly one of exact, prefix or regex must be set (got ${kinds.join(', ')})`}`
      )
    }
  }
  const routes = Array.isArray(spec.route) ? spec.route : []
  let sum = 0
  let anyWeight = false
  for (const r of routes) {
    if (!isObj(r)) continue
    if (r.weight !== undefined) {
      anyWeight = true
      const w = r.weight
      if (typeof w !== 'number' || !Number.isInteger(w))
        errs.push(`weight invalid: ${JSON.stringify(w)} is not an integer`)
      else if (w < 0 || w > 100) errs.push(`weight invalid: percentage ${w} is not in range 0..100`)
      else sum += w
    }
  }
  if (routes.length > 0 && anyWeight && !(routes.length === 1 && sum === 0) && sum !== 100) {
    errs.push(`route weights total ${sum} (must total 100)`)
  }
  return errs
}

// ---------------------------------------------------------------- built-in kinds

function intField(errs: ApiError[], kind: string, path: (string | number)[], v: unknown) {
  if (v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v))) return
  const goPath = path.filter(p => typeof p === 'string').join('.')
  const got = typeof v === 'number' ? 'number' : jsonType(v)
  errs.push(
    badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${got} into Go struct field ${kind}.${goPath} of type int32`
    )
  )
}

/** Decode errors (400) for built-ins: the apiserver rejects a wrong JSON type before validation. */
export function builtinDecodeErrors(kind: string, obj: Obj): ApiError | undefined {
  const errs: ApiError[] = []
  const spec = isObj(obj.spec) ? obj.spec : {}
  const containers = (podSpec: Obj, base: (string | number)[]) => {
    for (const [i, c] of (Array.isArray(podSpec.containers) ? podSpec.containers : []).entries()) {
      if (!isObj(c)) continue
      for (const [j, p] of (Array.isArray(c.ports) ? c.ports : []).entries()) {
        if (isObj(p))
          intField(errs, kind, [...base, 'containers', i, 'ports', j, 'containerPort'], p.containerPort)
      }
    }
  }
  if (kind === 'Deployment' || kind === 'ReplicaSet') {
    intField(errs, kind, ['spec', 'replicas'], spec.replicas)
    const t = isObj(spec.template) && isObj(spec.template.spec) ? spec.template.spec : {}
    containers(t, ['spec', 'template', 'spec'])
  }
  if (kind === 'Pod') containers(spec, ['spec'])
  if (kind === 'Service') {
    for (const [i, p] of (Array.isArray(spec.ports) ? spec.ports : []).entries()) {
      if (isObj(p)) intField(errs, kind, ['spec', 'ports', i, 'port'], p.port)
    }
  }
  if (kind === 'ConfigMap' && isObj(obj.data)) {
    for (const v of Object.values(obj.data)) {
      if (typeof v !== 'string') {
        errs.push(
          badRequest(
            `ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal ${jsonType(v) === 'integer' ? 'number' : jsonType(v)} into Go struct field ConfigMap.data of type string`
          )
        )
        break
      }
    }
  }
  if (kind === 'Secret' && isObj(obj.data)) {
    for (const v of Object.values(obj.data)) {
      if (
        typeof v !== 'string' ||
        !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)
      ) {
        errs.push(
          badRequest(
            'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0'
          )
        )
        break
      }
    }
  }
  return errs[0]
}

function podSpecErrors(ps: unknown, base: string): FieldError[] {
  const errs: FieldError[] = []
  if (!isObj(ps)) return [req(base)]
  const cs = ps.containers
  if (!Array.isArray(cs) || cs.length === 0) return [req(`${base}.containers`)]
  const names = new Set<string>()
  cs.forEach((c, i) => {
    const f = `${base}.containers[${i}]`
    if (!isObj(c)) return
    if (typeof c.name !== 'string' || c.name === '') errs.push(req(`${f}.name`))
    else if (!DNS1123_LABEL.test(c.name)) errs.push(inv(`${f}.name`, c.name, MSG_LABEL))
    else if (names.has(c.name))
      errs.push({
        field: `${f}.name`,
        type: 'FieldValueDuplicate',
        detail: `Duplicate value: ${goValue(c.name)}`
      })
    if (typeof c.name === 'string') names.add(c.name)
    if (typeof c.image !== 'string' || c.image.trim() === '') errs.push(req(`${f}.image`))
    for (const [j, p] of (Array.isArray(c.ports) ? c.ports : []).entries()) {
      if (
        isObj(p) &&
        typeof p.containerPort === 'number' &&
        (p.containerPort < 1 || p.containerPort > 65535)
      ) {
        errs.push(
          inv(`${f}.ports[${j}].containerPort`, p.containerPort, 'must be between 1 and 65535, inclusive')
        )
      }
    }
  })
  return errs
}

function labelSelectorString(sel: unknown): string {
  const ml = isObj(sel) && isObj(sel.matchLabels) ? sel.matchLabels : {}
  return `v1.LabelSelector{MatchLabels:map[string]string{${Object.entries(ml)
    .map(([k, v]) => `"${k}":"${v}"`)
    .join(', ')}}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`
}

export function builtinErrors(kind: string, obj: Obj, old: Obj | undefined): FieldError[] {
  const spec = isObj(obj.spec) ? obj.spec : {}
  const errs: FieldError[] = []
  if (kind === 'Deployment' || kind === 'ReplicaSet') {
    if (typeof spec.replicas === 'number' && spec.replicas < 0) {
      errs.push(inv('spec.replicas', spec.replicas, 'must be greater than or equal to 0'))
    }
    const tmpl = isObj(spec.template) ? spec.template : {}
    const labels = (
      isObj(tmpl.metadata) && isObj(tmpl.metadata.labels) ? tmpl.metadata.labels : {}
    ) as Record<string, string>
    if (!isObj(spec.selector)) errs.push(req('spec.selector'))
    else {
      const sel = spec.selector
      const empty =
        !isObj(sel.matchLabels) && !(Array.isArray(sel.matchExpressions) && sel.matchExpressions.length)
      if (empty)
        errs.push(inv('spec.selector', labelSelectorString(sel), 'empty selector is invalid for deployment'))
      else if (!matchSelectorObject(sel, labels)) {
        errs.push(
          inv(
            'spec.template.metadata.labels',
            `map[string]string{${Object.entries(labels)
              .map(([k, v]) => `"${k}":"${v}"`)
              .join(', ')}}`,
            '`selector` does not match template `labels`'
          )
        )
      }
    }
    errs.push(...podSpecErrors(tmpl.spec, 'spec.template.spec'))
    if (old && isObj(old.spec) && !deepEqual(old.spec.selector, spec.selector)) {
      errs.push(inv('spec.selector', labelSelectorString(spec.selector), 'field is immutable'))
    }
  }
  if (kind === 'Pod') errs.push(...podSpecErrors(spec, 'spec'))
  if (kind === 'Service') {
    const type = spec.type ?? 'ClusterIP'
    const ports = Array.isArray(spec.ports) ? spec.ports : []
    if (type !== 'ExternalName' && spec.clusterIP !== 'None' && ports.length === 0)
      errs.push(req('spec.ports'))
    ports.forEach((p, i) => {
      if (!isObj(p)) return
      if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535) {
        errs.push(inv(`spec.ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive'))
      }
      if (ports.length > 1 && (typeof p.name !== 'string' || p.name === ''))
        errs.push(req(`spec.ports[${i}].name`))
    })
    if (
      old &&
      isObj(old.spec) &&
      old.spec.clusterIP &&
      spec.clusterIP &&
      old.spec.clusterIP !== spec.clusterIP
    ) {
      errs.push(inv('spec.clusterIPs[0]', spec.clusterIP, 'field is immutable'))
    }
  }
  if (kind === 'ConfigMap') {
    for (const k of Object.keys(isObj(obj.data) ? obj.data : {})) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k)) {
        errs.push(
          inv(
            'data',
            k,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
          )
        )
      }
    }
  }
  return errs
}

export { invalid, webhookDenied, istioMessage }

/** Runs every admission step for an object about to be stored; throws the apiserver's error. */
export function admit(r: ResourceDef, obj: Obj, old: Obj | undefined, apiVersion: string): void {
  const name = String((obj.metadata as Obj | undefined)?.name ?? '')
  if (r.builtin) {
    const decode = builtinDecodeErrors(r.kind, obj)
    if (decode) throw decode
  }
  const fieldErrs: FieldError[] = validateMeta(r, obj)
  if (!r.builtin) fieldErrs.push(...schemaFieldErrors(schemaErrors(apiVersion, r.kind, obj)))
  else fieldErrs.push(...builtinErrors(r.kind, obj, old))
  // CEL rules run only on an object that passed the schema
  if (r.kind === 'HTTPRoute' && fieldErrs.length === 0) fieldErrs.push(...httpRouteCelErrors(obj))
  if (fieldErrs.length) throw invalid(r, name, fieldErrs)
  // validating webhooks run after the object passed the apiserver's own validation
  if (r.group === 'networking.istio.io') {
    const errs =
      r.kind === 'VirtualService' ? istioVirtualServiceErrors(obj) : istioDestinationRuleErrors(obj)
    if (errs.length) throw webhookDenied('validation.istio.io', istioMessage(errs))
  }
  if (r.group === 'config.istio.io' && r.kind === 'RouteRule') {
    const errs = routeRuleErrors(obj)
    if (errs.length) throw webhookDenied('pilot.validation.istio.io', istioMessage(errs))
  }
}
