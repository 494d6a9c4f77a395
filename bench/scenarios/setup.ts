/**
 * What every scenario that runs the action starts from: its own Kubernetes API test double (in this process, so its
 * request log can be time-stamped) with the release at "stage 5% passed", and the action run as the runner does
 * (startAction: a separate process; ACTION_ENTRY / ACTION_NODE choose the bundle and the Node binary).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { bookinfoObjects } from '../../testkit/bookinfo.js'
import {
  type KubeApi,
  type KubeObject,
  type RecordedRequest,
  startKubeApi
} from '../../testkit/kube-api/index.js'
import { type ActionResult, startAction } from '../../testkit/run-action.js'
import { NETWORKING, routingObject, TRANSITION_PLAN } from '../fixtures.js'

export interface Bench {
  api: KubeApi
  /** When the double recorded a request (performance.now() of this process), i.e. its receipt time. */
  receivedAt(request: RecordedRequest): number
  /** The VirtualService at "stage 5% passed", as stored; restore() puts it back before every sample. */
  passed: KubeObject
  restore(): void
  current(): KubeObject | undefined
  dir: string
  close(): Promise<void>
}

/** Time-stamps every request the double records (its log has no times of its own). */
function stampRequests(api: KubeApi): (request: RecordedRequest) => number {
  const times = new WeakMap<RecordedRequest, number>()
  const log = api.requests
  const push = log.push.bind(log)
  log.push = ((...items: RecordedRequest[]) => {
    const now = performance.now()
    for (const item of items) times.set(item, now)
    return push(...items)
  }) as typeof log.push
  return request => times.get(request) ?? NaN
}

export function describeFailure(what: string, result: ActionResult): Error {
  const tail = (text: string) => text.split('\n').slice(-15).join('\n')
  return new Error(
    `${what}: exit ${result.exitCode}, outputs ${JSON.stringify(result.outputs)}\n${tail(result.stdout)}\n${tail(result.stderr)}`
  )
}

export function actionInputs(api: KubeApi, plan: string): Record<string, string> {
  return { command: 'advance', plan, kubeconfig: api.kubeconfig(), report: 'none' }
}

export async function setUp(options: { latencyMs: number; routes?: number }): Promise<Bench> {
  const api = await startKubeApi({ latencyMs: options.latencyMs })
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'))
  try {
    api.seed([...bookinfoObjects().filter(o => o.kind !== 'VirtualService'), routingObject(options.routes)])
    const receivedAt = stampRequests(api)
    await api.deploymentsAvailable()
    const current = () => api.get(NETWORKING, 'VirtualService', 'default', 'reviews')
    const first = await startAction({ inputs: actionInputs(api, TRANSITION_PLAN) }).result
    if (first.exitCode !== 0 || first.outputs.stage !== '5%')
      throw describeFailure('setup: advance to 5%', first)
    const passed = current()!
    return {
      api,
      receivedAt,
      passed,
      restore: () => void api.put(structuredClone(passed)),
      current,
      dir,
      close: async () => {
        await api.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (error) {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

export function requestLabel(request: RecordedRequest): string {
  const what = request.resource
    ? `${request.resource}${request.name ? `/${request.name}` : ''}`
    : request.path
  return `${request.method} ${what}${request.dryRun ? ' (dry run)' : ''}`
}

export const isWrite = (request: RecordedRequest) =>
  ['create', 'update', 'patch', 'delete'].includes(request.verb) && !request.dryRun
export const bodyBytes = (request: RecordedRequest) =>
  request.body === undefined ? 0 : Buffer.byteLength(JSON.stringify(request.body))
