/**
 * What the demo prints: the CLI's colours, and the lines that describe a run's traffic (the split at each entry
 * point, the mirror's copies, the sticky users) and its checks.
 */
import { Document, isScalar, stringify, visit } from 'yaml'
import { makeStyle, useColor } from '../src/cli/render.js'
import type { KubeObject } from '../testkit/kube-api/index.js'
import { formatSplit } from './route-table.js'
import { mergeTallies, type Segment, type Tally, type Traffic } from './segments.js'

export const style = makeStyle(useColor(process.stdout.isTTY, process.env))

export const say = (line = '') => process.stdout.write(`${line}\n`)

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

function counts(tallies: Record<string, Tally>): Record<string, number> {
  return Object.fromEntries(Object.entries(tallies).map(([label, tally]) => [label, tally.requests]))
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`
}

function describeTraffic(traffic: Traffic | undefined): string {
  if (!traffic) return 'no traffic observed'
  return `users ${formatSplit(counts(traffic.users))} · test-user ${formatSplit(counts(traffic.testUser))}`
}

/**
 * The split the simulator observed at its first entry point (the mesh), and the 5xx share of every version that
 * served any request, wherever it came from.
 */
export function describeSegment(segment: Segment | undefined): string {
  if (!segment) return 'no traffic observed'
  const entries = Object.values(segment.entries)
  const served = mergeTallies(...entries.flatMap(traffic => [traffic.users, traffic.testUser]))
  const errors = Object.entries(served)
    .filter(([, tally]) => tally.errors > 0)
    .map(([label, tally]) => `${label} ${percent(tally.errors, tally.requests)}`)
  const split = describeTraffic(entries[0])
  return errors.length > 0 ? `${split} · ${style.red(`5xx ${errors.join(' / ')}`)}` : split
}

/**
 * What else the segment shows, one line each: the other entry points' splits, the mirror's copies (which no user
 * received), and where the users carrying a cookie the routing set were served.
 */
export function segmentDetails(segment: Segment | undefined): string[] {
  if (!segment) return []
  const lines = Object.entries(segment.entries)
    .slice(1)
    .map(([name, traffic]) => `${name}: ${describeTraffic(traffic)}`)
  const { eligible, copies } = segment.mirrored
  const copied = Object.entries(copies)
  if (eligible > 0 || copied.length > 0) {
    const described = copied.map(
      ([label, tally]) =>
        `${percent(tally.requests, eligible)} copied to ${label} (${tally.requests}), which answered ` +
        (tally.errors > 0 ? style.red(`${percent(tally.errors, tally.requests)} 5xx`) : 'no 5xx')
    )
    lines.push(
      `mirror: of ${eligible} requests on mirrored routes, ${described.join(' · ') || 'none copied'}; answers discarded, users served as above`
    )
  }
  const set = Object.entries(segment.cookiesSet)
  const sent = Object.entries(segment.sticky)
  if (set.length > 0 || sent.length > 0) {
    const setting = set.map(([cookie, count]) => `${count} responses set ${cookie}`)
    const holders = sent.map(
      ([cookie, tally]) =>
        `${tally.users} user${tally.users === 1 ? '' : 's'} sent ${cookie}: served ${formatSplit(counts(tally.served))}`
    )
    lines.push(
      `sticky: ${[setting.join(' · ') || 'no response set a cookie', ...holders].join(' · ')}; ` +
        `users without a sticky cookie: ${formatSplit(counts(segment.unpinned))}`
    )
  }
  return lines
}

interface EvaluationLike {
  check: string
  kind: string
  value: number | null
  threshold: string
  verdict: 'pass' | 'fail' | 'nodata'
}

function formatValue(evaluation: EvaluationLike): string {
  const { value, kind } = evaluation
  if (value === null) return 'no value'
  if (kind === 'kubernetes') return `${value} restarts`
  if (kind === 'http') return `HTTP ${value}`
  return Number.isInteger(value) && kind !== 'prometheus' ? String(value) : value.toFixed(3)
}

/** Per check: its last value (or the failing one), threshold and verdict, on one line. */
export function describeChecks(report: Record<string, unknown> | undefined): string {
  const evaluations = (report?.evaluations ?? []) as EvaluationLike[]
  if (evaluations.length === 0) return 'no evaluations'
  const byCheck = new Map<string, EvaluationLike[]>()
  for (const evaluation of evaluations)
    byCheck.set(evaluation.check, [...(byCheck.get(evaluation.check) ?? []), evaluation])
  const rounds = Math.max(...[...byCheck.values()].map(list => list.length))
  const checks = [...byCheck.entries()].map(([name, list]) => {
    const shown = list.find(evaluation => evaluation.verdict === 'fail') ?? list.at(-1)!
    const verdict =
      shown.verdict === 'pass'
        ? style.green('ok')
        : shown.verdict === 'fail'
          ? style.red('FAIL')
          : style.yellow('no data')
    const threshold = shown.kind === 'prometheus' || shown.verdict === 'fail' ? ` (${shown.threshold})` : ''
    const noData = list.filter(evaluation => evaluation.verdict === 'nodata').length
    const note =
      noData > 0 && shown.verdict !== 'nodata'
        ? style.dim(` (${noData} round${noData > 1 ? 's' : ''} no data yet)`)
        : ''
    return `${name} ${formatValue(shown)}${threshold} ${verdict}${note}`
  })
  return `${style.dim(`${rounds} round${rounds > 1 ? 's' : ''}:`)} ${checks.join(' · ')}`
}

/** An object as a reader wants it: identity, spec and (when asked) annotations; no server-set fields. */
export function cleanObject(object: KubeObject, withAnnotations: boolean): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name: object.metadata.name,
    namespace: object.metadata.namespace
  }
  const annotations = object.metadata.annotations as Record<string, string> | undefined
  if (withAnnotations && annotations && Object.keys(annotations).length > 0)
    metadata.annotations = annotations
  return { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: object.spec }
}

/** YAML with maps and lists of plain values on one line (`labels: { version: v2 }`), as a terminal shows best. */
export function compactYaml(value: unknown): string {
  const document = new Document(value)
  visit(document, {
    Map(_, node) {
      if (node.items.every(pair => isScalar(pair.value))) node.flow = true
    },
    Seq(_, node) {
      if (node.items.every(item => isScalar(item))) node.flow = true
    }
  })
  return document.toString({ lineWidth: 0 })
}

export function routingYaml(objects: KubeObject[], withAnnotations: boolean): string {
  return objects
    .map(object => stringify(cleanObject(object, withAnnotations), { lineWidth: 0 }))
    .join('---\n')
}
