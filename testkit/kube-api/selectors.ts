/** Label and field selectors, parsed and matched like k8s.io/apimachinery/pkg/labels and pkg/fields. */
import { badRequest } from './errors.js'
import { isObj, type Obj } from './util.js'

type Req =
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number }

function splitTop(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out.map(x => x.trim()).filter(x => x !== '')
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function bad(sel: string, why: string) {
  return badRequest(`unable to parse requirement: ${why} (selector "${sel}")`)
}

export function parseLabelSelector(sel: string): Req[] {
  const reqs: Req[] = []
  for (const part of splitTop(sel)) {
    let m: RegExpMatchArray | null
    if ((m = part.match(/^!\s*(\S+)$/))) {
      reqs.push({ key: m[1], op: '!' })
    } else if ((m = part.match(/^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const values = m[3]
        .split(',')
        .map(v => v.trim())
        .filter(v => v !== '')
      for (const v of values) if (!VALUE.test(v)) throw bad(sel, `invalid label value: "${v}"`)
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values })
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=)\s*([^=!<>\s]*)$/))) {
      if (!VALUE.test(m[3])) throw bad(sel, `invalid label value: "${m[3]}"`)
      reqs.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] })
    } else if ((m = part.match(/^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/))) {
      reqs.push({ key: m[1], op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) })
    } else if ((m = part.match(/^([^=!<>\s(),]+)$/))) {
      reqs.push({ key: m[1], op: 'exists' })
    } else {
      throw bad(sel, `found '${part}', expected: !, identifier, or 'end of string'`)
    }
  }
  for (const r of reqs) if (!KEY.test(r.key)) throw bad(sel, `invalid label key "${r.key}"`)
  return reqs
}

export function matchLabels(reqs: Req[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {}
  return reqs.every(r => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key)
    const v = l[r.key]
    switch (r.op) {
      case 'exists':
        return has
      case '!':
        return !has
      case '=':
        return has && v === r.value
      case '!=':
        return !has || v !== r.value
      case 'in':
        return has && r.values.includes(v)
      case 'notin':
        return !has || !r.values.includes(v)
      case 'gt':
        return has && Number(v) > r.value
      case 'lt':
        return has && Number(v) < r.value
    }
  })
}

/** A label selector object (matchLabels / matchExpressions), as in Deployment.spec.selector. */
export function matchSelectorObject(sel: unknown, labels: Record<string, string> | undefined): boolean {
  if (!isObj(sel)) return false
  const l = labels ?? {}
  const ml = (sel.matchLabels ?? {}) as Record<string, string>
  for (const [k, v] of Object.entries(ml)) if (l[k] !== v) return false
  for (const e of (sel.matchExpressions ?? []) as Obj[]) {
    const key = String(e.key)
    const values = (e.values ?? []) as string[]
    const has = key in l
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[key])) return false
        break
      case 'NotIn':
        if (has && values.includes(l[key])) return false
        break
      case 'Exists':
        if (!has) return false
        break
      case 'DoesNotExist':
        if (has) return false
        break
    }
  }
  return true
}

type FieldReq = { path: string; op: '=' | '!='; value: string }

const FIELDS: Record<string, string[]> = {
  '*': ['metadata.name', 'metadata.namespace'],
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP'
  ],
  Secret: ['type'],
  Namespace: ['status.phase']
}

export function parseFieldSelector(sel: string, kind: string): FieldReq[] {
  const out: FieldReq[] = []
  for (const part of splitTop(sel)) {
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/)
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`)
    const path = m[1].trim()
    if (![...FIELDS['*'], ...(FIELDS[kind] ?? [])].includes(path)) {
      throw badRequest(`field label not supported: ${path}`)
    }
    out.push({ path, op: m[2] === '!=' ? '!=' : '=', value: m[3].trim() })
  }
  return out
}

export function matchFields(reqs: FieldReq[], o: Obj): boolean {
  return reqs.every(r => {
    let cur: unknown = o
    for (const p of r.path.split('.')) cur = isObj(cur) ? cur[p] : undefined
    const v = cur === undefined || cur === null ? '' : String(cur)
    return r.op === '=' ? v === r.value : v !== r.value
  })
}
