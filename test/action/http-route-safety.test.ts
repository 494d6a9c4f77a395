/**
 * What the Gateway API controller can do to an HTTPRoute release, through the action: refuse a stage (the stage
 * is put back and the step fails with the condition's reason and message), not resolve a backend, answer too late,
 * and write status between the action's read and its conditional write (no failure, no drift). Also a failing
 * check rolled back.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { bookinfoObjects, GATEWAY_API, HTTPROUTE_PLAN } from '../../testkit/bookinfo.js'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { runAction, startAction, errorOf } from '../../testkit/run-action.js'

const ref = (name: string, weight: number) => ({ group: '', kind: 'Service', name, port: 9080, weight })
const STATE = 'reviews.default.istio-canary-action.github.io/state'

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi({ routeStatusDelayMs: 50 })
  api.seed(bookinfoObjects({ router: 'HTTPRoute' }))
  await api.waitFor(() => route().status !== undefined)
})
afterEach(() => api.close())

const route = () => api.get(GATEWAY_API, 'HTTPRoute', 'default', 'reviews') as KubeObject
type Rule = { name?: string; backendRefs: unknown[] }
const rules = (object = route()) => (object.spec as { rules: Rule[] }).rules
const ruleNames = () => rules().map(rule => rule.name)
const metadataMap = (key: 'annotations' | 'labels') =>
  (route().metadata[key] ?? {}) as Record<string, string | undefined>
const state = () =>
  JSON.parse(metadataMap('annotations')[STATE] ?? '{}') as { stageIndex?: number; phase?: string }

function action(inputs: Record<string, string> = {}, plan = HTTPROUTE_PLAN) {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...inputs } })
}

describe('a route the controller does not accept', () => {
  it("puts the stage back and fails with the condition's reason and message; the next run applies it once accepted", async () => {
    expect((await action()).outputs.stage).toBe('test-user')
    const atStage1 = structuredClone(route())
    api.refuseRoute('default', 'reviews', {
      reason: 'NotAllowedByPolicy',
      message: 'weighted backends are not allowed on this parent',
      when: object => JSON.stringify(object.spec).includes('"weight":95')
    })
    const refused = await action()
    expect(refused.exitCode).toBe(1)
    expect(errorOf(refused)).toBe(
      'acceptance: HTTPRoute default/reviews, parent Service default/reviews port 9080 did not accept what this run wrote: Accepted=False (NotAllowedByPolicy): weighted backends are not allowed on this parent; the 1 object(s) this run had already written were restored, so the routing is unchanged'
    )
    expect(route().spec).toEqual(atStage1.spec)
    expect(route().metadata.annotations).toEqual(atStage1.metadata.annotations)
    expect(state()).toMatchObject({ stageIndex: 1, phase: 'passed' })
    // The controller accepts the restored stage again.
    await api.waitFor(() =>
      (route().status as { parents: { conditions: { status: string }[] }[] }).parents[0].conditions.every(
        condition => condition.status === 'True'
      )
    )

    api.refuseRoute('default', 'reviews', undefined)
    const next = await action()
    expect(next.outputs).toMatchObject({ status: 'advanced', stage: '5%', weight: '5' })
    expect(rules()[2].backendRefs).toEqual([ref('reviews-v1', 95), ref('reviews-v2', 5)])
  }, 120_000)

  it('an unresolved backend (ResolvedRefs=False) refuses the pin: the route stays as it was, without a release', async () => {
    const broken = route()
    rules(broken).push({
      name: 'details',
      matches: [{ path: { type: 'PathPrefix', value: '/details' } }],
      backendRefs: [{ name: 'details', port: 9080 }]
    } as Rule)
    api.put(broken)
    await api.waitFor(() => JSON.stringify(route().status).includes('BackendNotFound'))
    const before = structuredClone(route())
    const result = await action()
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain(
      'acceptance: HTTPRoute default/reviews, parent Service default/reviews port 9080 did not accept what this run wrote: ResolvedRefs=False (BackendNotFound): backend(details.default.svc.cluster.local) not found; the 1 object(s) this run had already written were restored, so the routing is unchanged; the controller has not accepted the restored routing either'
    )
    expect(route().spec).toEqual(before.spec)
    expect(route().metadata.annotations ?? {}).toEqual(before.metadata.annotations ?? {})
    expect((await action({ command: 'status' })).outputs.status).toBe('idle')
  }, 120_000)

  it('a controller that does not answer within acceptTimeout: the stage is put back', async () => {
    const plan = HTTPROUTE_PLAN.replace('stable: v1', 'routing: { acceptTimeout: 1s }\nstable: v1')
    expect((await action({}, plan)).outputs.stage).toBe('test-user')
    const atStage1 = structuredClone(route())
    api.pauseRouteStatus()
    const result = await action({}, plan)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain(
      "acceptance: HTTPRoute default/reviews did not accept what this run wrote: Timeout: no answer within 1s while waiting for the controller's status; waiting for default/reviews: Service default/reviews port 9080 (its status is for generation 3)"
    )
    expect(route().spec).toEqual(atStage1.spec)
    expect(state()).toMatchObject({ stageIndex: 1, phase: 'passed' })
    api.resumeRouteStatus()
    expect((await action({}, plan)).outputs.stage).toBe('5%')
  }, 120_000)
})

describe('a stage whose run died before the controller answered', () => {
  it('is confirmed with the controller before it is watched again', async () => {
    // A stage with a bake is recorded as watched when written (one with nothing to watch passes in that write).
    const plan = HTTPROUTE_PLAN.replace('analysis:\n  bake: 0s\n', 'analysis:\n  bake: 1s\n')
    expect((await action({}, plan)).outputs.stage).toBe('test-user')
    api.pauseRouteStatus()
    api.refuseRoute('default', 'reviews', {
      reason: 'NotAllowedByPolicy',
      message: 'weighted backends are not allowed',
      when: object => JSON.stringify(object.spec).includes('"weight":95')
    })
    api.clearRequests()
    const running = startAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none' } })
    await api.waitFor(
      () => api.requests.some(r => r.verb === 'update' && r.resource === 'httproutes' && r.status === 200),
      60_000
    )
    running.child.kill('SIGKILL')
    await running.result
    expect(state()).toMatchObject({ stageIndex: 2, phase: 'watching' })
    const written = structuredClone(route().spec)
    api.resumeRouteStatus()
    api.clearRequests()
    const refused = await action({}, plan)
    expect(refused.exitCode).toBe(1)
    expect(errorOf(refused)).toBe(
      'acceptance: HTTPRoute default/reviews, parent Service default/reviews port 9080 has not accepted the stage an earlier run wrote: Accepted=False (NotAllowedByPolicy): weighted backends are not allowed; fix what the controller reports, or run the rollback command'
    )
    expect(api.writes()).toEqual([])
    expect(route().spec).toEqual(written)

    api.refuseRoute('default', 'reviews', undefined)
    const resumed = await action({}, plan)
    expect(resumed.stdout).toContain('routing already in place')
    expect(resumed.outputs).toMatchObject({ status: 'advanced', stage: '5%' })
  }, 120_000)
})

describe("the controller's status writes", () => {
  it('moving the resourceVersion between the read and the conditional write: the write goes again, no drift', async () => {
    expect((await action()).outputs.stage).toBe('test-user')
    // Another writer adds a rule; the controller (paused) has yet to write its status.
    api.pauseRouteStatus()
    const edited = route()
    const foreign = {
      name: 'details',
      matches: [{ path: { type: 'PathPrefix', value: '/details' } }],
      backendRefs: [ref('ratings', 1)]
    }
    rules(edited).push(foreign)
    api.put(edited)
    api.clearRequests()
    api.injectFault({ method: 'PUT', path: /\/httproutes\/reviews$/, delayMs: 1500 })
    const running = startAction({
      inputs: { plan: HTTPROUTE_PLAN, kubeconfig: api.kubeconfig(), report: 'none' }
    })
    // The run has read the route and sent its write: now the controller writes the status it owed.
    await api.waitFor(
      () => api.requests.some(r => r.verb === 'update' && r.resource === 'httproutes'),
      60_000
    )
    const before = Number(route().metadata.resourceVersion)
    api.resumeRouteStatus()
    await api.waitFor(() => Number(route().metadata.resourceVersion) > before)
    const result = await running.result
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ status: 'advanced', stage: '5%' })
    const updates = api.requests.filter(r => r.verb === 'update' && r.resource === 'httproutes')
    expect(updates.map(r => r.status)).toEqual([409, 200])
    expect(rules().at(-1)).toEqual(foreign)
    expect(rules()[2].backendRefs).toEqual([ref('reviews-v1', 95), ref('reviews-v2', 5)])
    expect(result.annotations.filter(a => a.kind === 'warning')).toEqual([])
    // And the next run sees no drift either.
    expect((await action()).outputs.stage).toBe('50%')
  }, 120_000)

  it('within one run (pin, then stage 1) never cost a conflict: the write uses the status read', async () => {
    const result = await action()
    expect(result.outputs.stage).toBe('test-user')
    expect(api.requests.filter(r => r.status === 409)).toEqual([])
    expect(api.routeStatusWrites()).toBeGreaterThanOrEqual(3)
  }, 60_000)
})

describe('a failing check', () => {
  it('rolls the route back to the pinned rules, and the controller accepts the rollback', async () => {
    expect((await action()).outputs.stage).toBe('test-user')
    const pinned = [rules()[0], { ...rules()[2] }]
    const failing = HTTPROUTE_PLAN.replace(
      'analysis:\n  bake: 0s\n',
      'analysis:\n  interval: 200ms\n  bake: 1s\n  checks:\n    - name: smoke\n      http: { url: "http://127.0.0.1:1/health", timeout: 200ms }\n'
    )
    const result = await action({}, failing)
    expect(result.outputs.status).toBe('rolled-back')
    expect(result.exitCode).toBe(1)
    expect(rules()).toEqual(pinned)
    expect(ruleNames()).toEqual(['ratings', 'reviews-api'])
    expect(rules()[1].backendRefs).toEqual([ref('reviews-v1', 100)])
    expect(result.stdout).toMatch(
      /Roll back to v1[\s\S]*accepted by the controller: HTTPRoute default\/reviews/
    )
    expect(metadataMap('labels')['istio-canary-action.github.io/in-progress']).toBeUndefined()
  }, 120_000)
})
