/**
 * Field ownership (metadata.managedFields) and server-side apply, "good enough": leaf fields are tracked per
 * manager; lists are atomic unless they are a built-in kind's associative list (containers by name, ...).
 */
import { ApiError, status } from './errors.js'
import { mergeKeyFor } from './patch.js'
import { clone, deepEqual, isObj, nowIso, type Obj } from './util.js'

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1: Obj
  subresource?: string
}

const SKIP_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName'
])

/** Leaf paths of an object, each a JSON-encoded array of path elements ("f:x" / "k:{...}"). */
export function leafPaths(obj: Obj, associative: boolean, sub?: string): Map<string, unknown> {
  const out = new Map<string, unknown>()
  const walk = (v: unknown, path: string[], names: string[]) => {
    if (isObj(v)) {
      const keys = Object.keys(v)
      if (keys.length === 0 && path.length) {
        out.set(JSON.stringify(path), v)
        return
      }
      for (const k of keys) walk(v[k], [...path, `f:${k}`], [...names, k])
      return
    }
    if (Array.isArray(v) && associative) {
      const key = mergeKeyFor(names.slice(0, -1), names[names.length - 1])
      if (key && v.every(x => isObj(x) && key in x)) {
        for (const item of v as Obj[]) {
          const id = `k:${JSON.stringify({ [key]: item[key] })}`
          out.set(JSON.stringify([...path, id, '.']), true)
          walk(item, [...path, id], names)
        }
        return
      }
    }
    out.set(JSON.stringify(path), v)
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue
    if (k === 'status' && sub !== 'status') continue
    if (k !== 'status' && sub === 'status') continue
    if (k === 'metadata' && isObj(v)) {
      for (const [mk, mv] of Object.entries(v))
        if (!SKIP_META.has(mk)) walk(mv, ['f:metadata', `f:${mk}`], ['metadata', mk])
      continue
    }
    walk(v, [`f:${k}`], [k])
  }
  return out
}

export function toFieldsV1(paths: Iterable<string>): Obj {
  const root: Obj = {}
  for (const p of paths) {
    let cur = root
    for (const el of JSON.parse(p) as string[]) {
      if (!isObj(cur[el])) cur[el] = {}
      cur = cur[el] as Obj
    }
  }
  return root
}

export function fromFieldsV1(f: Obj): Set<string> {
  const out = new Set<string>()
  const walk = (node: Obj, path: string[]) => {
    const keys = Object.keys(node)
    if (keys.length === 0) {
      if (path.length) out.add(JSON.stringify(path))
      return
    }
    for (const k of keys) walk(node[k] as Obj, [...path, k])
  }
  walk(f, [])
  return out
}

function isPrefix(a: string, b: string): boolean {
  // a, b JSON arrays: is path a an ancestor-or-self of b?
  const pa = JSON.parse(a) as string[]
  const pb = JSON.parse(b) as string[]
  return pa.length <= pb.length && pa.every((x, i) => x === pb[i])
}

function overlaps(a: string, b: string): boolean {
  return isPrefix(a, b) || isPrefix(b, a)
}

/** Records an Update by `manager`: it takes the fields whose value changed (or appeared). */
export function recordUpdate(
  oldObj: Obj | undefined,
  newObj: Obj,
  manager: string,
  apiVersion: string,
  associative: boolean,
  sub?: string
): ManagedFieldsEntry[] {
  const md = (newObj.metadata ?? {}) as Obj
  let entries = clone(((oldObj?.metadata as Obj | undefined)?.managedFields ?? []) as ManagedFieldsEntry[])
  const before = oldObj ? leafPaths(oldObj, associative, sub) : new Map<string, unknown>()
  const after = leafPaths(newObj, associative, sub)
  const changed: string[] = []
  for (const [p, v] of after) if (!before.has(p) || !deepEqual(before.get(p), v)) changed.push(p)
  const removed = [...before.keys()].filter(p => !after.has(p))
  // others lose what this writer changed or removed
  for (const e of entries) {
    const set = fromFieldsV1(e.fieldsV1)
    for (const p of [...set]) if ([...changed, ...removed].some(c => overlaps(c, p))) set.delete(p)
    e.fieldsV1 = toFieldsV1(set)
  }
  if (changed.length) {
    let mine = entries.find(
      e => e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (sub ?? '')
    )
    if (!mine) {
      mine = {
        manager,
        operation: 'Update',
        apiVersion,
        time: nowIso(),
        fieldsType: 'FieldsV1',
        fieldsV1: {}
      }
      if (sub) mine.subresource = sub
      entries.push(mine)
    }
    const set = fromFieldsV1(mine.fieldsV1)
    for (const c of changed) set.add(c)
    mine.fieldsV1 = toFieldsV1(set)
    mine.time = nowIso()
    mine.apiVersion = apiVersion
  }
  entries = entries.filter(e => Object.keys(e.fieldsV1).length > 0)
  void md
  return entries
}

function getPath(obj: unknown, path: string[]): { found: boolean; value?: unknown } {
  let cur = obj
  for (const el of path) {
    if (el === '.') return { found: true, value: cur }
    if (el.startsWith('f:')) {
      if (!isObj(cur) || !(el.slice(2) in cur)) return { found: false }
      cur = cur[el.slice(2)]
    } else if (el.startsWith('k:')) {
      const key = JSON.parse(el.slice(2)) as Obj
      const [k, v] = Object.entries(key)[0]
      if (!Array.isArray(cur)) return { found: false }
      const item = cur.find(x => isObj(x) && deepEqual(x[k], v))
      if (item === undefined) return { found: false }
      cur = item
    }
  }
  return { found: true, value: cur }
}

function deletePath(obj: unknown, path: string[]): void {
  if (path[path.length - 1] === '.') path = path.slice(0, -1)
  const parentPath = path.slice(0, -1)
  const last = path[path.length - 1]
  const { found, value: parent } = getPath(obj, parentPath)
  if (!found) return
  if (last.startsWith('f:') && isObj(parent)) delete parent[last.slice(2)]
  else if (last.startsWith('k:') && Array.isArray(parent)) {
    const [k, v] = Object.entries(JSON.parse(last.slice(2)) as Obj)[0]
    const i = parent.findIndex(x => isObj(x) && deepEqual(x[k], v))
    if (i >= 0) parent.splice(i, 1)
  }
}

function mergeApplied(live: unknown, applied: unknown, names: string[], associative: boolean): unknown {
  if (isObj(applied)) {
    const out: Obj = isObj(live) ? clone(live) : {}
    for (const [k, v] of Object.entries(applied)) {
      if (v === null) {
        delete out[k]
        continue
      }
      out[k] = mergeApplied(out[k], v, [...names, k], associative)
    }
    return out
  }
  if (Array.isArray(applied) && associative && Array.isArray(live)) {
    const key = mergeKeyFor(names.slice(0, -1), names[names.length - 1])
    if (key) {
      const out = clone(live) as unknown[]
      for (const item of applied) {
        if (!isObj(item)) continue
        const i = out.findIndex(x => isObj(x) && deepEqual(x[key], item[key]))
        if (i >= 0) out[i] = mergeApplied(out[i], item, names, associative)
        else out.push(clone(item))
      }
      return out
    }
  }
  return clone(applied)
}

function pathText(p: string): string {
  return (JSON.parse(p) as string[])
    .filter(x => x !== '.')
    .map(x => (x.startsWith('f:') ? `.${x.slice(2)}` : `[${x.slice(2)}]`))
    .join('')
}

/**
 * Server-side apply of `applied` (already parsed) onto `live` (undefined: create). Returns the merged object and
 * its new managedFields. Throws 409 Conflict listing the conflicting fields unless `force`.
 */
export function serverSideApply(
  live: Obj | undefined,
  applied: Obj,
  manager: string,
  apiVersion: string,
  force: boolean,
  associative: boolean
): { obj: Obj; managedFields: ManagedFieldsEntry[] } {
  const entries = clone(((live?.metadata as Obj | undefined)?.managedFields ?? []) as ManagedFieldsEntry[])
  const appliedPaths = leafPaths(applied, associative)
  const liveObj = live ? clone(live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} }
  const conflicts: { manager: string; apiVersion: string; path: string }[] = []
  for (const e of entries) {
    if (e.manager === manager && e.operation === 'Apply') continue
    for (const p of fromFieldsV1(e.fieldsV1)) {
      for (const [ap, av] of appliedPaths) {
        if (!overlaps(ap, p)) continue
        const lv = getPath(liveObj, JSON.parse(p) as string[])
        const same = lv.found && deepEqual(lv.value, getPath(applied, JSON.parse(p) as string[]).value ?? av)
        if (!same) conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p })
      }
    }
  }
  const uniq = conflicts.filter(
    (c, i) => conflicts.findIndex(d => d.manager === c.manager && d.path === c.path) === i
  )
  if (uniq.length && !force) {
    const lines = uniq.map(
      c =>
        `conflict with "${c.manager}"${c.apiVersion !== apiVersion ? ` using ${c.apiVersion}` : ''}: ${pathText(c.path)}`
    )
    const name = String((applied.metadata as Obj | undefined)?.name ?? '')
    const msg =
      uniq.length === 1
        ? `Apply failed with 1 conflict: ${lines[0]}`
        : `Apply failed with ${uniq.length} conflicts: ${lines.join('\n')}`
    throw new ApiError(
      status(409, 'Conflict', msg, {
        name,
        causes: uniq.map(c => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}"${c.apiVersion !== apiVersion ? ` using ${c.apiVersion}` : ''}`,
          field: pathText(c.path)
        }))
      })
    )
  }
  // fields this manager applied before, no longer applied, and owned by nobody else: removed
  const mine = entries.find(e => e.manager === manager && e.operation === 'Apply')
  const others = entries.filter(e => e !== mine)
  let merged: Obj = liveObj
  if (mine) {
    for (const p of fromFieldsV1(mine.fieldsV1)) {
      if (appliedPaths.has(p) || [...appliedPaths.keys()].some(ap => isPrefix(p, ap))) continue
      if (others.some(o => [...fromFieldsV1(o.fieldsV1)].some(op => overlaps(op, p)))) continue
      deletePath(merged, JSON.parse(p) as string[])
    }
  }
  const md = (merged.metadata ?? {}) as Obj
  merged = mergeApplied(merged, applied, [], associative) as Obj
  merged.metadata = { ...(merged.metadata as Obj), ...pickIdentity(md) }
  // ownership: with force, others lose the conflicting fields; shared equal values stay shared
  for (const o of others) {
    const set = fromFieldsV1(o.fieldsV1)
    for (const c of uniq)
      if (c.manager === o.manager) for (const p of [...set]) if (overlaps(p, c.path)) set.delete(p)
    o.fieldsV1 = toFieldsV1(set)
  }
  const entry: ManagedFieldsEntry = {
    manager,
    operation: 'Apply',
    apiVersion,
    time: nowIso(),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(appliedPaths.keys())
  }
  const result = [...others.filter(e => Object.keys(e.fieldsV1).length), entry]
  return { obj: merged, managedFields: result }
}

function pickIdentity(md: Obj): Obj {
  const out: Obj = {}
  for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'namespace', 'name'])
    if (k in md) out[k] = md[k]
  return out
}
