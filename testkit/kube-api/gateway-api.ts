/**
 * The HTTPRoute schema of the Gateway API standard channel as of v1.2, on top of the v1.0 schema
 * @kubernetes-models/gateway-api ships: rule `name` (GEP-995), RequestMirror `percent` and `fraction` (GEP-3171),
 * 64 matches per rule, and the CRD's CEL rules on what this adds (unique rule names, at most 128 matches in all,
 * percent or fraction). The 16-rule limit is the v1.0 schema's own `maxItems`.
 */
import type { AjvError } from './schemas.js'
import type { FieldError } from './errors.js'
import { isObj, type Obj } from './util.js'

/** SectionName: a DNS-1123 subdomain, as the CRD's pattern writes it. */
const SECTION_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
const MAX_MATCHES_PER_RULE = 64
const MAX_MATCHES = 128

const percentSchema = { type: 'integer', format: 'int32', minimum: 0, maximum: 100, nullable: true }
const fractionSchema = {
  type: 'object',
  nullable: true,
  required: ['numerator'],
  properties: {
    numerator: { type: 'integer', format: 'int32', minimum: 0 },
    denominator: { type: 'integer', format: 'int32', minimum: 1, default: 100 }
  }
}

function at(schema: Obj, ...path: string[]): Obj {
  let node = schema
  for (const key of path) node = node[key] as Obj
  return node
}

/** Adds the v1.2 fields to a v1.0 HTTPRoute schema (as used for pruning and defaulting), in place. */
export function extendHttpRouteSchema(schema: Obj): void {
  const rule = at(schema, 'properties', 'spec', 'properties', 'rules', 'items')
  const properties = rule.properties as Obj
  properties.name = { type: 'string', minLength: 1, maxLength: 253, pattern: SECTION_NAME, nullable: true }
  ;(properties.matches as Obj).maxItems = MAX_MATCHES_PER_RULE
  const filterLists = [
    at(rule, 'properties', 'filters', 'items'),
    at(rule, 'properties', 'backendRefs', 'items', 'properties', 'filters', 'items')
  ]
  for (const filter of filterLists) {
    const mirror = at(filter, 'properties', 'requestMirror', 'properties')
    mirror.percent = structuredClone(percentSchema)
    mirror.fraction = structuredClone(fractionSchema)
  }
}

function rulesOf(obj: Obj): Obj[] {
  const spec = isObj(obj.spec) ? obj.spec : {}
  return Array.isArray(spec.rules) ? (spec.rules as Obj[]).filter(isObj) : []
}

/** Every requestMirror of the route, with its JSON pointer. */
function mirrors(obj: Obj): { pointer: string; mirror: Obj }[] {
  return rulesOf(obj).flatMap((rule, r) => {
    const lists: [string, unknown][] = [
      [`/spec/rules/${r}/filters`, rule.filters],
      ...(Array.isArray(rule.backendRefs) ? (rule.backendRefs as unknown[]) : []).map(
        (ref, b) =>
          [`/spec/rules/${r}/backendRefs/${b}/filters`, isObj(ref) ? ref.filters : undefined] as [
            string,
            unknown
          ]
      )
    ]
    return lists.flatMap(([pointer, filters]) =>
      (Array.isArray(filters) ? filters : []).flatMap((filter, f) =>
        isObj(filter) && isObj(filter.requestMirror)
          ? [{ pointer: `${pointer}/${f}/requestMirror`, mirror: filter.requestMirror }]
          : []
      )
    )
  })
}

/** A copy without the v1.2 fields, for the v1.0 validator, which would not know them. */
export function withoutV12Fields(obj: Obj): Obj {
  const copy = structuredClone(obj)
  for (const rule of rulesOf(copy)) delete rule.name
  for (const { mirror } of mirrors(copy)) {
    delete mirror.percent
    delete mirror.fraction
  }
  return copy
}

function integerErrors(pointer: string, value: unknown, min: number, max?: number): AjvError[] {
  const base = { instancePath: pointer, schemaPath: '#', data: value }
  if (typeof value !== 'number' || !Number.isInteger(value))
    return [{ ...base, keyword: 'type', params: { type: 'integer' } }]
  if (value < min) return [{ ...base, keyword: 'minimum', params: { limit: min } }]
  if (max !== undefined && value > max) return [{ ...base, keyword: 'maximum', params: { limit: max } }]
  return []
}

/** Schema errors of the v1.2 fields, shaped as the validator's; and the v1.0 validator's 8-match limit lifted. */
export function v12SchemaErrors(obj: Obj, v10Errors: AjvError[]): AjvError[] {
  const errors = v10Errors.filter(
    e => !(e.keyword === 'maxItems' && /^\/spec\/rules\/\d+\/matches$/.test(e.instancePath))
  )
  rulesOf(obj).forEach((rule, r) => {
    const matches = Array.isArray(rule.matches) ? rule.matches : []
    const pointer = `/spec/rules/${r}`
    if (matches.length > MAX_MATCHES_PER_RULE) {
      errors.push({
        instancePath: `${pointer}/matches`,
        schemaPath: '#',
        keyword: 'maxItems',
        params: { limit: MAX_MATCHES_PER_RULE },
        data: matches
      })
    }
    if (rule.name === undefined || rule.name === null) return
    const base = { instancePath: `${pointer}/name`, schemaPath: '#', data: rule.name }
    if (typeof rule.name !== 'string') errors.push({ ...base, keyword: 'type', params: { type: 'string' } })
    else if (rule.name.length > 253) errors.push({ ...base, keyword: 'maxLength', params: { limit: 253 } })
    else if (!new RegExp(SECTION_NAME).test(rule.name))
      errors.push({ ...base, keyword: 'pattern', params: { pattern: SECTION_NAME } })
  })
  for (const { pointer, mirror } of mirrors(obj)) {
    if (mirror.percent !== undefined && mirror.percent !== null)
      errors.push(...integerErrors(`${pointer}/percent`, mirror.percent, 0, 100))
    if (isObj(mirror.fraction)) {
      const { numerator, denominator } = mirror.fraction
      if (numerator === undefined) {
        errors.push({
          instancePath: `${pointer}/fraction`,
          schemaPath: '#',
          keyword: 'required',
          params: { missingProperty: 'numerator' },
          data: mirror.fraction
        })
      } else errors.push(...integerErrors(`${pointer}/fraction/numerator`, numerator, 0))
      if (denominator !== undefined)
        errors.push(...integerErrors(`${pointer}/fraction/denominator`, denominator, 1))
    }
  }
  return errors
}

const cel = (field: string, type: string, message: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  detail: `Invalid value: "${type}": ${message}`
})

/** The CRD's CEL rules (x-kubernetes-validations) on rule names, match counts and mirror fractions. */
export function httpRouteCelErrors(obj: Obj): FieldError[] {
  const errors: FieldError[] = []
  const rules = rulesOf(obj)
  const names = rules.map(rule => rule.name).filter(name => typeof name === 'string')
  if (new Set(names).size !== names.length)
    errors.push(cel('spec.rules', 'array', 'Rule name must be unique within the route'))
  const matches = rules.reduce(
    (sum, rule) => sum + (Array.isArray(rule.matches) ? rule.matches.length : 0),
    0
  )
  if (matches > MAX_MATCHES) {
    errors.push(
      cel(
        'spec.rules',
        'array',
        'While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128'
      )
    )
  }
  for (const { pointer, mirror } of mirrors(obj)) {
    const field = pointer
      .slice(1)
      .split('/')
      .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '')
    const hasPercent = mirror.percent !== undefined && mirror.percent !== null
    if (hasPercent && isObj(mirror.fraction))
      errors.push(
        cel(field, 'object', 'Only one of percent or fraction may be specified in HTTPRequestMirrorFilter')
      )
    if (isObj(mirror.fraction)) {
      const { numerator, denominator = 100 } = mirror.fraction
      if (typeof numerator === 'number' && typeof denominator === 'number' && numerator > denominator)
        errors.push(cel(`${field}.fraction`, 'object', 'numerator must be less than or equal to denominator'))
    }
  }
  return errors
}
