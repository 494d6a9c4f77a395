/** The three patch formats the apiserver accepts besides apply: RFC 7386, RFC 6902 and strategic merge. */
import { ApiError, badRequest, status } from './errors.js'
import { clone, deepEqual, isObj, type Obj } from './util.js'

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch)
  const out: Obj = isObj(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

// ---------------------------------------------------------------- RFC 6902

interface Op {
  op: string
  path: string
  from?: string
  value?: unknown
}

function parsePointer(p: string): string[] {
  if (p === '') return []
  if (!p.startsWith('/')) throw badRequest(`jsonpatch: invalid path "${p}": must start with '/'`)
  return p
    .slice(1)
    .split('/')
    .map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function missing(op: string, path: string): ApiError {
  return badRequest(`jsonpatch ${op} operation does not apply: doc is missing path: "${path}": missing value`)
}

function getParent(
  doc: unknown,
  parts: string[],
  op: string,
  path: string
): { parent: unknown; key: string } {
  let cur = doc
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]
    if (Array.isArray(cur)) {
      const idx = Number(k)
      if (!/^\d+$/.test(k) || idx >= cur.length) throw missing(op, path)
      cur = cur[idx]
    } else if (isObj(cur)) {
      if (!(k in cur)) throw missing(op, path)
      cur = cur[k]
    } else throw missing(op, path)
  }
  return { parent: cur, key: parts[parts.length - 1] }
}

function getAt(doc: unknown, path: string, op: string): unknown {
  const parts = parsePointer(path)
  if (parts.length === 0) return doc
  const { parent, key } = getParent(doc, parts, op, path)
  if (Array.isArray(parent)) {
    const idx = Number(key)
    if (!/^\d+$/.test(key) || idx >= parent.length) throw missing(op, path)
    return parent[idx]
  }
  if (isObj(parent) && key in parent) return parent[key]
  throw missing(op, path)
}

function removeAt(doc: unknown, path: string, op: string): unknown {
  const parts = parsePointer(path)
  const { parent, key } = getParent(doc, parts, op, path)
  if (Array.isArray(parent)) {
    const idx = Number(key)
    if (!/^\d+$/.test(key) || idx >= parent.length) throw missing(op, path)
    return parent.splice(idx, 1)[0]
  }
  if (isObj(parent) && key in parent) {
    const v = parent[key]
    delete parent[key]
    return v
  }
  throw missing(op, path)
}

function addAt(doc: unknown, path: string, value: unknown, op: string, replace: boolean): unknown {
  const parts = parsePointer(path)
  if (parts.length === 0) return clone(value)
  const { parent, key } = getParent(doc, parts, op, path)
  if (Array.isArray(parent)) {
    if (key === '-' && !replace) {
      parent.push(clone(value))
      return doc
    }
    const idx = Number(key)
    if (!/^\d+$/.test(key) || idx > parent.length || (replace && idx >= parent.length)) {
      throw badRequest(
        `jsonpatch ${op} operation does not apply: doc is missing path: "${path}": invalid index`
      )
    }
    if (replace) parent[idx] = clone(value)
    else parent.splice(idx, 0, clone(value))
    return doc
  }
  if (isObj(parent)) {
    if (replace && !(key in parent)) throw missing(op, path)
    parent[key] = clone(value)
    return doc
  }
  throw missing(op, path)
}

/** RFC 6902 JSON patch; a failed `test` is 422, like the apiserver. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  }
  let doc = clone(target)
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('jsonpatch: operation missing "op" or "path"')
    }
    const o = raw as unknown as Op
    switch (o.op) {
      case 'add':
        if (!('value' in raw)) throw badRequest('jsonpatch add operation does not apply: missing value')
        doc = addAt(doc, o.path, o.value, 'add', false)
        break
      case 'remove':
        removeAt(doc, o.path, 'remove')
        break
      case 'replace':
        if (!('value' in raw)) throw badRequest('jsonpatch replace operation does not apply: missing value')
        doc = addAt(doc, o.path, o.value, 'replace', true)
        break
      case 'move': {
        if (typeof o.from !== 'string')
          throw badRequest('jsonpatch move operation does not apply: missing from')
        const v = removeAt(doc, o.from, 'move')
        doc = addAt(doc, o.path, v, 'move', false)
        break
      }
      case 'copy': {
        if (typeof o.from !== 'string')
          throw badRequest('jsonpatch copy operation does not apply: missing from')
        const v = getAt(doc, o.from, 'copy')
        doc = addAt(doc, o.path, v, 'copy', false)
        break
      }
      case 'test': {
        let cur: unknown
        try {
          cur = getAt(doc, o.path, 'test')
        } catch {
          cur = undefined
        }
        if (!deepEqual(cur, o.value ?? null)) {
          // k8s.io/apiserver interpretJSONPatchError: a failed test is a generic 422
          throw new ApiError(
            status(422, 'Invalid', 'the server rejected our request due to an error in our request', {})
          )
        }
        break
      }
      default:
        throw badRequest(`Unexpected kind: ${o.op}`)
    }
  }
  return doc
}

// ---------------------------------------------------------------- strategic merge patch

/**
 * patchMergeKey of the built-in types' lists (k8s.io/api struct tags), keyed by field name; `ports` depends on
 * whether it is a container's (containerPort) or a Service's (port). Lists not named here are replaced whole.
 */
export function mergeKeyFor(path: string[], field: string): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'imagePullSecrets':
    case 'env':
    case 'resourceClaims':
      return 'name'
    case 'volumeMounts':
      return 'mountPath'
    case 'volumeDevices':
      return 'devicePath'
    case 'hostAliases':
      return 'ip'
    case 'ownerReferences':
      return 'uid'
    case 'conditions':
      return 'type'
    case 'topologySpreadConstraints':
      return 'topologyKey'
    case 'ports':
      return path.includes('containers') || path.includes('initContainers') ? 'containerPort' : 'port'
    default:
      return undefined
  }
}

/** Primitive lists with patchStrategy "merge" (union). */
const MERGE_PRIMITIVE_LISTS = new Set(['finalizers'])

const DIRECTIVE = '$patch'
const SET_ORDER = '$setElementOrder/'
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/'
const RETAIN_KEYS = '$retainKeys'

/** Strategic merge patch for the built-in kinds (directives: $patch, $setElementOrder, $deleteFromPrimitiveList, $retainKeys). */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch))
    throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}')
  return smpMap(isObj(target) ? target : {}, patch, [])
}

function smpMap(original: Obj, patch: Obj, path: string[]): Obj | undefined {
  const directive = patch[DIRECTIVE]
  if (directive === 'delete') return undefined
  if (directive === 'replace') {
    const out = clone(patch)
    delete out[DIRECTIVE]
    return out
  }
  let out: Obj = clone(original)
  if (Array.isArray(patch[RETAIN_KEYS])) {
    const keep = new Set(patch[RETAIN_KEYS] as string[])
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k]
  }
  const orders: [string, unknown[]][] = []
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS) continue
    if (k.startsWith(SET_ORDER)) {
      orders.push([k.slice(SET_ORDER.length), v as unknown[]])
      continue
    }
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const field = k.slice(DELETE_PRIMITIVE.length)
      const del = (v as unknown[]) ?? []
      if (Array.isArray(out[field]))
        out[field] = (out[field] as unknown[]).filter(x => !del.some(d => deepEqual(d, x)))
      continue
    }
    if (v === null) {
      delete out[k]
      continue
    }
    const cur = out[k]
    if (isObj(v)) {
      const merged = smpMap(isObj(cur) ? cur : {}, v, [...path, k])
      if (merged === undefined) delete out[k]
      else out[k] = merged
    } else if (Array.isArray(v)) {
      out[k] = smpList(Array.isArray(cur) ? cur : [], v, [...path, k], k)
    } else {
      out[k] = clone(v)
    }
  }
  for (const [field, order] of orders) {
    if (!Array.isArray(out[field]) || !Array.isArray(order)) continue
    const key = mergeKeyFor(path, field)
    const list = out[field] as unknown[]
    const idOf = (x: unknown) => (key && isObj(x) ? JSON.stringify(x[key]) : JSON.stringify(x))
    const pos = new Map(order.map((o, i) => [idOf(o), i]))
    out[field] = list
      .map((x, i) => ({ x, i }))
      .sort((a, b) => {
        const pa = pos.get(idOf(a.x)) ?? order.length + a.i
        const pb = pos.get(idOf(b.x)) ?? order.length + b.i
        return pa - pb
      })
      .map(e => e.x)
  }
  out = out as Obj
  return out
}

function smpList(original: unknown[], patch: unknown[], path: string[], field: string): unknown[] {
  if (patch.some(p => isObj(p) && p[DIRECTIVE] === 'replace')) {
    return clone(patch.filter(p => !(isObj(p) && p[DIRECTIVE] === 'replace')))
  }
  const key = mergeKeyFor(path.slice(0, -1), field)
  if (MERGE_PRIMITIVE_LISTS.has(field)) {
    const out = clone(original)
    for (const p of patch) if (!out.some(x => deepEqual(x, p))) out.push(clone(p))
    return out
  }
  if (!key) return clone(patch)
  const out = clone(original) as unknown[]
  for (const p of patch) {
    if (!isObj(p)) continue
    const idx = out.findIndex(x => isObj(x) && deepEqual(x[key], p[key]))
    if (p[DIRECTIVE] === 'delete') {
      if (idx >= 0) out.splice(idx, 1)
      continue
    }
    if (idx >= 0) {
      const merged = smpMap(out[idx] as Obj, p, path)
      if (merged === undefined) out.splice(idx, 1)
      else out[idx] = merged
    } else {
      const added = smpMap({}, p, path)
      if (added !== undefined) out.push(added)
    }
  }
  return out
}
