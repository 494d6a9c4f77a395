/**
 * Races between runs on the same release: two `advance` runs at once, and an `advance` racing a `rollback`.
 * Whatever the interleaving, the routing must be one consistent stage and the state must agree with it.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, VS_PLAN } from '../../testkit/bookinfo.js'
import { runAction, startAction, type ActionResult } from '../../testkit/run-action.js'
import { drift, errorLines, NETWORKING, releaseState, routingSpecs, unknownSubsets } from './helpers.js'

const VS_PATH = '/apis/networking.istio.io/v1/namespaces/default/virtualservices/reviews'

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
})
afterEach(() => api.close())

const inputs = (command: string) => ({
  plan: VS_PLAN,
  kubeconfig: api.kubeconfig(),
  report: 'none',
  command
})
const start = (command: string) => startAction({ inputs: inputs(command) })
const run = (command: string) => runAction({ inputs: inputs(command) })

/** Stage weights on the reviews route, from the routing itself. */
function reviewsWeights(): Record<string, number> {
  const spec = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')!.spec as {
    http: { name?: string; route: { destination: { subset: string }; weight?: number }[] }[]
  }
  const route = spec.http.find(r => r.name === 'reviews-route')!
  return Object.fromEntries(route.route.map(r => [r.destination.subset, r.weight ?? 100]))
}

/** The state and the routing agree, and a `status` run reports the same thing. */
async function expectConsistent(): Promise<ActionResult> {
  expect(drift(api, 'VirtualService', VS_PLAN)).toEqual([])
  expect(unknownSubsets(api)).toEqual([])
  const state = releaseState(api, 'VirtualService')!
  const status = await run('status')
  expect(status.exitCode).toBe(0)
  const expected =
    state.phase === 'rolled-back' ? 'rolled-back' : state.phase === 'completed' ? 'completed' : 'in-progress'
  expect(status.outputs.status).toBe(expected)
  expect(status.annotations.filter(a => a.kind === 'warning' && /drift/.test(a.message))).toEqual([])
  return status
}

describe('two advance runs at once', () => {
  it('exactly one wins, the other fails with a clear conflict, and the routing is one stage', async () => {
    expect((await run('advance')).exitCode).toBe(0)
    api.clearRequests()
    // Hold both runs' writes a moment so both read the same resourceVersion before either writes.
    api.injectFault({ method: 'PUT', path: VS_PATH, delayMs: 2500, times: 2 })
    const first = start('advance')
    const second = start('advance')
    const results = await Promise.all([first.result, second.result])
    // One read per run, and the loser's second read after its 409: it tells another writer (refused) from a
    // status write (written again).
    const reads = api.requests.filter(r => r.method === 'GET' && r.path === VS_PATH)
    // One read per run before either wrote, and the loser's read after its conflict: it finds another writer's
    // spec there (not just a controller's status write), so it reports the conflict instead of writing again.
    expect(reads).toHaveLength(3)
    const winners = results.filter(r => r.exitCode === 0)
    const losers = results.filter(r => r.exitCode !== 0)
    expect(winners).toHaveLength(1)
    expect(losers).toHaveLength(1)
    expect(winners[0].outputs).toMatchObject({ status: 'advanced', stage: '5%' })
    const errors = errorLines(losers[0])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(
      /^conflict: VirtualService default\/reviews was changed by another writer since this run read it; nothing was overwritten\. Re-run to continue/
    )
    expect(reviewsWeights()).toEqual({ v1: 95, v2: 5 })
    expect(releaseState(api, 'VirtualService')).toMatchObject({ stageIndex: 2, phase: 'passed' })
    const status = await expectConsistent()
    expect(status.outputs).toMatchObject({ stage: '5%', 'stage-index': '2' })
    // The loser's re-run continues from the winner's stage.
    const again = await run('advance')
    expect(again.outputs).toMatchObject({ status: 'advanced', stage: '50%' })
  }, 90_000)
})

describe('advance racing rollback', () => {
  const pinned = () => structuredClone(api.get(NETWORKING, 'VirtualService', 'default', 'reviews')!.spec)

  it.each([
    ['started together', false],
    ['rollback while the advance write is in flight', true]
  ])(
    '%s: ends rolled back, with state and routing in agreement',
    async (_name, holdAdvance) => {
      const target = pinned()
      expect((await run('advance')).exitCode).toBe(0)
      let advance
      let rollback
      if (holdAdvance) {
        api.injectFault({ method: 'PUT', path: VS_PATH, delayMs: 2500 })
        advance = start('advance')
        await api.waitFor(() => api.requests.some(r => r.method === 'PUT' && r.path === VS_PATH), 30_000)
        rollback = start('rollback')
      } else {
        advance = start('advance')
        rollback = start('rollback')
      }
      const [advanced, rolledBack] = await Promise.all([advance.result, rollback.result])
      // The rollback never gives up on a conflict: it re-reads and writes again.
      expect(errorLines(rolledBack)).toEqual([])
      expect(rolledBack.exitCode).toBe(0)
      if (advanced.exitCode !== 0) {
        expect(errorLines(advanced)).toHaveLength(1)
        expect(errorLines(advanced)[0]).toMatch(/^conflict: |was rolled back/)
      }
      expect(releaseState(api, 'VirtualService')?.phase).toBe('rolled-back')
      expect(routingSpecs(api, 'VirtualService')).toEqual({ reviews: target })
      const status = await expectConsistent()
      expect(status.outputs).toMatchObject({ status: 'rolled-back', weight: '0', stage: '' })
    },
    90_000
  )
})
