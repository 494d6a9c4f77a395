/** Rollback latency: from the check's source failing to the routing restored. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { startAction } from '../../testkit/run-action.js'
import { rollbackPlan, routedToStableOnly } from '../fixtures.js'
import { actionInputs, describeFailure, isWrite, requestLabel, setUp } from './setup.js'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

interface HealthServer {
  url: string
  /** Serve 200 until one 200 has been sent, then 500 from that moment on. */
  arm(): void
  flippedAt?: number
  firstFailureAt?: number
  close(): Promise<void>
}

async function startHealthServer(): Promise<HealthServer> {
  let armed = false
  let failing = false
  const state: Partial<HealthServer> = {}
  const server = http.createServer((_request, response) => {
    if (failing) {
      state.firstFailureAt ??= performance.now()
      response.writeHead(500, { 'content-type': 'text/plain' }).end('canary down')
      return
    }
    response.on('finish', () => {
      if (!armed) return
      armed = false
      failing = true
      state.flippedAt = performance.now()
    })
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/productpage`,
    arm() {
      armed = true
      failing = false
      state.flippedAt = undefined
      state.firstFailureAt = undefined
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }) as HealthServer
}

export interface RollbackResult {
  /** The check's source flipping to 500 (right after it served a passing evaluation) to the routing restored. */
  latencyMs: number[]
  /** The failing evaluation (first 500 served) to the routing restored: the action's own reaction. */
  reactionMs: number[]
  /** The flip to the double's receipt of the restoring write. */
  writeReceivedMs: number[]
  intervalMs: number
  /** Requests between the failing evaluation and the end of the run, in order (last sample). */
  log: string[]
}

/**
 * `interval: 1s`, `failureLimit: 1`, an `http` check against a local server. The server flips to 500 right after
 * serving a passing evaluation, so the next evaluation is a whole interval away: the worst case.
 */
export async function measureRollback(options: { runs: number; latencyMs: number }): Promise<RollbackResult> {
  const bench = await setUp(options)
  const health = await startHealthServer()
  const result: RollbackResult = {
    latencyMs: [],
    reactionMs: [],
    writeReceivedMs: [],
    intervalMs: 1000,
    log: []
  }
  try {
    for (let run = 0; run < options.runs; run++) {
      bench.restore()
      bench.api.clearRequests()
      health.arm()
      let exited = false
      const running = startAction({ inputs: actionInputs(bench.api, rollbackPlan(health.url)) })
      void running.result.then(() => (exited = true))
      const deadline = performance.now() + 30_000
      let restoredAt: number | undefined
      while (!exited && performance.now() < deadline) {
        if (health.flippedAt !== undefined && routedToStableOnly(bench.current())) {
          restoredAt = performance.now()
          break
        }
        await sleep(2)
      }
      if (!exited && restoredAt === undefined) running.child.kill('SIGKILL')
      const outcome = await running.result
      if (
        restoredAt === undefined ||
        health.flippedAt === undefined ||
        outcome.outputs.status !== 'rolled-back'
      )
        throw describeFailure('rollback', outcome)
      const flippedAt = health.flippedAt
      const requests = [...bench.api.requests]
      const restoring = requests.filter(r => isWrite(r) && bench.receivedAt(r) > flippedAt)
      result.latencyMs.push(restoredAt - flippedAt)
      result.reactionMs.push(restoredAt - (health.firstFailureAt ?? NaN))
      result.writeReceivedMs.push(restoring.length ? bench.receivedAt(restoring[0]) - flippedAt : NaN)
      result.log = requests.filter(r => bench.receivedAt(r) > flippedAt).map(requestLabel)
    }
    return result
  } finally {
    await health.close()
    await bench.close()
  }
}
