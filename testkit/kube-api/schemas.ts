/**
 * The CRD schemas of the custom resources: Istio 1.18's and Gateway API 1.0's, as shipped (as JSON schema) by
 * @kubernetes-models/istio and @kubernetes-models/gateway-api, HTTPRoute brought to the v1.2 standard channel
 * (gateway-api.ts). Validation uses the models' own validators; pruning and defaulting (which a real apiserver
 * does for structural schemas) read the same schema text.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { VirtualService as VSv1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/VirtualService'
import { DestinationRule as DRv1alpha3 } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/DestinationRule'
import { VirtualService as VSv1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService'
import { DestinationRule as DRv1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule'
import { HTTPRoute as HRv1 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute'
import { HTTPRoute as HRv1beta1 } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/HTTPRoute'
import { extendHttpRouteSchema, v12SchemaErrors, withoutV12Fields } from './gateway-api.js'
import { clone, isObj, type Obj } from './util.js'

interface Model {
  validate(): void
}
type ModelCtor = new (data: Obj) => Model

interface SchemaEntry {
  /** The apiVersion whose schema is used (v1 of networking.istio.io maps to v1beta1: same schema, v1 not shipped). */
  schemaApiVersion: string
  ctor: ModelCtor
  module: string
}

const ENTRIES: Record<string, SchemaEntry> = {
  'networking.istio.io/v1/VirtualService': {
    schemaApiVersion: 'networking.istio.io/v1beta1',
    ctor: VSv1beta1 as unknown as ModelCtor,
    module: '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService'
  },
  'networking.istio.io/v1beta1/VirtualService': {
    schemaApiVersion: 'networking.istio.io/v1beta1',
    ctor: VSv1beta1 as unknown as ModelCtor,
    module: '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService'
  },
  'networking.istio.io/v1alpha3/VirtualService': {
    schemaApiVersion: 'networking.istio.io/v1alpha3',
    ctor: VSv1alpha3 as unknown as ModelCtor,
    module: '@kubernetes-models/istio/networking.istio.io/v1alpha3/VirtualService'
  },
  'networking.istio.io/v1/DestinationRule': {
    schemaApiVersion: 'networking.istio.io/v1beta1',
    ctor: DRv1beta1 as unknown as ModelCtor,
    module: '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule'
  },
  'networking.istio.io/v1beta1/DestinationRule': {
    schemaApiVersion: 'networking.istio.io/v1beta1',
    ctor: DRv1beta1 as unknown as ModelCtor,
    module: '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule'
  },
  'networking.istio.io/v1alpha3/DestinationRule': {
    schemaApiVersion: 'networking.istio.io/v1alpha3',
    ctor: DRv1alpha3 as unknown as ModelCtor,
    module: '@kubernetes-models/istio/networking.istio.io/v1alpha3/DestinationRule'
  },
  'gateway.networking.k8s.io/v1/HTTPRoute': {
    schemaApiVersion: 'gateway.networking.k8s.io/v1',
    ctor: HRv1 as unknown as ModelCtor,
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute'
  },
  'gateway.networking.k8s.io/v1beta1/HTTPRoute': {
    schemaApiVersion: 'gateway.networking.k8s.io/v1beta1',
    ctor: HRv1beta1 as unknown as ModelCtor,
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1/HTTPRoute'
  }
}

export function hasSchema(apiVersion: string, kind: string): boolean {
  return `${apiVersion}/${kind}` in ENTRIES
}

const rawCache = new Map<string, Obj>()
const req = createRequire(import.meta.url)

/** The JSON schema literal of a model module (its `const schema = {...};`). */
function rawSchema(entry: SchemaEntry): Obj {
  let s = rawCache.get(entry.module)
  if (!s) {
    const file = req.resolve(entry.module)
    const text = readFileSync(file, 'utf8')
    const start = text.indexOf('const schema = ')
    const end = text.indexOf('\n};', start)
    if (start < 0 || end < 0) throw new Error(`kube-api: cannot read the schema of ${entry.module}`)
    s = JSON.parse(text.slice(start + 'const schema = '.length, end + 2)) as Obj
    if (entry.module.endsWith('/HTTPRoute')) extendHttpRouteSchema(s)
    rawCache.set(entry.module, s)
  }
  return s
}

export interface AjvError {
  instancePath: string
  schemaPath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
  data?: unknown
  schema?: unknown
}

/** Validates with the model's validator; returns ajv's errors (empty when valid). */
export function schemaErrors(apiVersion: string, kind: string, obj: Obj): AjvError[] {
  const entry = ENTRIES[`${apiVersion}/${kind}`]
  if (!entry) return []
  const httpRoute = kind === 'HTTPRoute'
  const data = httpRoute ? withoutV12Fields(obj) : clone(obj)
  data.apiVersion = entry.schemaApiVersion
  let errs: AjvError[] = []
  try {
    new entry.ctor(data).validate()
  } catch (e) {
    errs = (e as { errors?: AjvError[] }).errors ?? []
    if (!(e as { errors?: AjvError[] }).errors) throw e
  }
  return httpRoute ? v12SchemaErrors(obj, errs) : errs
}

/**
 * Prunes fields the structural schema does not know and applies schema defaults, in place, like the apiserver does
 * for custom resources (metadata, apiVersion and kind are left alone). An object schema without properties and
 * without additionalProperties is taken as x-kubernetes-preserve-unknown-fields (the generated schemas drop that
 * marker, e.g. on Istio's `status`).
 */
export function pruneAndDefault(apiVersion: string, kind: string, obj: Obj): void {
  const entry = ENTRIES[`${apiVersion}/${kind}`]
  if (!entry) return
  const schema = rawSchema(entry)
  const props = (schema.properties ?? {}) as Record<string, Obj>
  for (const k of Object.keys(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue
    if (!(k in props)) delete obj[k]
    else obj[k] = walk(props[k], obj[k])
  }
}

function walk(schema: Obj, value: unknown): unknown {
  if (!isObj(schema)) return value
  if (Array.isArray(value)) {
    const items = schema.items
    return isObj(items) ? value.map(v => walk(items, v)) : value
  }
  if (!isObj(value)) return value
  const props = schema.properties as Record<string, Obj> | undefined
  const addl = schema.additionalProperties
  if (props && Object.keys(props).length > 0) {
    for (const k of Object.keys(value)) {
      if (k in props) value[k] = walk(props[k], value[k])
      else if (isObj(addl)) value[k] = walk(addl, value[k])
      else if (addl !== true) delete value[k]
    }
    for (const [k, p] of Object.entries(props)) {
      if (!(k in value) && isObj(p) && 'default' in p) value[k] = walk(p, clone(p.default))
    }
  } else if (isObj(addl)) {
    for (const k of Object.keys(value)) value[k] = walk(addl, value[k])
  }
  return value
}
