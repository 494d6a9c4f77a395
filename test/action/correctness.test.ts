/**
 * The ways a release used to go wrong, each played through the action against the API double: a rollback
 * undone by a run still watching, two services on one VirtualService, a canary or stable version with no pods,
 * deleteStable hitting the canary, a routing object gone, others' edits reverted, stages that move nothing,
 * fields copied from the wrong destination, and hostile revisions.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { startKubeApi, type KubeApi, type KubeObject } from '../../testkit/kube-api/index.js'
import { bookinfoObjects, deployment, RATINGS_ROUTE, VS_PLAN } from '../../testkit/bookinfo.js'
import { runAction, startAction, type ActionResult, errorOf, warningsOf } from '../../testkit/run-action.js'
import { setupRun } from '../support/run-engine.js'

const NETWORKING = 'networking.istio.io/v1'
const DEST = { host: 'reviews.default.svc.cluster.local', port: { number: 9080 } }

let api: KubeApi
beforeEach(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
})
afterEach(() => api.close())

function action(plan: string, inputs: Record<string, string> = {}): Promise<ActionResult> {
  return runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', ...inputs } })
}
/** An advance that only brings the release to where the test starts. */
const setup = (plan: string) => setupRun(api, { plan })

const virtualService = () => api.get(NETWORKING, 'VirtualService', 'default', 'reviews') as KubeObject
type Route = {
  name?: string
  route: { destination: { subset: string }; weight?: number }[]
  timeout?: string
}
const routes = () => (virtualService().spec as { http: Route[] }).http
const route = (name: string) => routes().find(r => r.name === name) as Route

/** A plan that watches each stage with a check on the canary Deployments. */
const WATCHED_PLAN = VS_PLAN.replace(
  'analysis:\n  bake: 0s\n',
  'analysis:\n  interval: 300ms\n  bake: 20s\n  checks:\n    - name: pods\n      kubernetes: {}\n'
)

describe('a rollback made while another run watches wins', () => {
  it('the watching run ends rolled-back, not advanced, and the revision is refused afterwards', async () => {
    const watching = startAction({
      inputs: { plan: WATCHED_PLAN, kubeconfig: api.kubeconfig(), report: 'none' }
    })
    await watching.waitForOutput(/Watch test-user/)
    const rollback = await action(WATCHED_PLAN, { command: 'rollback' })
    expect(rollback.outputs.status).toBe('rolled-back')

    const watched = await watching.result
    expect(watched.exitCode).toBe(0)
    expect(watched.outputs).toMatchObject({ status: 'rolled-back', weight: '0', stage: '', 'next-stage': '' })
    expect(watched.stdout).toContain('rolled back meanwhile (manual rollback)')
    expect(route('reviews-route').route).toEqual([{ destination: { ...DEST, subset: 'v1' } }])
    expect(routes().map(r => r.name)).toEqual(['ratings-route', 'reviews-route'])

    const again = await action(WATCHED_PLAN)
    expect(again.exitCode).toBe(1)
    expect(errorOf(again)).toContain('revision v2 was rolled back (manual rollback)')
  }, 60_000)
})

describe('two services released through one VirtualService', () => {
  const RATINGS_PLAN = `
service: ratings
routing: { name: reviews }
stable: v1
canary: v2
stages:
  - weight: 10
  - weight: 60
analysis:
  bake: 0s
`
  beforeEach(() => {
    api.seed([
      deployment('v2', { service: 'ratings' }),
      {
        apiVersion: NETWORKING,
        kind: 'DestinationRule',
        metadata: { name: 'ratings', namespace: 'default' },
        spec: {
          host: 'ratings',
          subsets: ['v1', 'v2'].map(version => ({ name: version, labels: { version } }))
        }
      }
    ])
  })

  it('each has its own state and ladder, and neither moves the other', async () => {
    expect((await action(VS_PLAN)).outputs.stage).toBe('test-user')
    expect((await action(VS_PLAN)).outputs.stage).toBe('5%')

    const ratings = await action(RATINGS_PLAN)
    expect(ratings.exitCode).toBe(0)
    expect(ratings.outputs).toMatchObject({
      status: 'advanced',
      stage: '10%',
      'stage-index': '1',
      weight: '10'
    })
    expect(route('ratings-route').route.map(d => [d.destination.subset, d.weight])).toEqual([
      ['v1', 90],
      ['v2', 10]
    ])
    expect(route('reviews-route').route.map(d => [d.destination.subset, d.weight])).toEqual([
      ['v1', 95],
      ['v2', 5]
    ])

    const reviews = await action(VS_PLAN)
    expect(reviews.outputs).toMatchObject({ stage: '50%', weight: '50' })
    expect(route('ratings-route').route.map(d => d.weight)).toEqual([90, 10])

    const rolledBack = await action(VS_PLAN, { command: 'rollback' })
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(route('reviews-route').route).toEqual([{ destination: { ...DEST, subset: 'v1' } }])
    expect(route('ratings-route').route.map(d => d.weight)).toEqual([90, 10])
    expect((await action(RATINGS_PLAN, { command: 'status' })).outputs.status).toBe('in-progress')
    expect((await action(RATINGS_PLAN)).outputs).toMatchObject({ stage: '60%', status: 'completed' })
    const annotations = Object.keys(virtualService().metadata.annotations ?? {})
    expect(annotations).toEqual(
      expect.arrayContaining([
        'reviews.default.istio-canary-action.github.io/state',
        'ratings.default.istio-canary-action.github.io/state'
      ])
    )
  }, 120_000)

  it('refuses a plan whose canary changed mid-release, saying what differs', async () => {
    await setup(VS_PLAN)
    api.clearRequests()
    const changed = await action(VS_PLAN.replace('canary: v2', 'canary: v3'), { revision: 'v2' })
    expect(changed.exitCode).toBe(1)
    expect(errorOf(changed)).toContain('the plan does not match the release in progress')
    expect(errorOf(changed)).toContain('canary is v3, the release has v2')
    expect(api.writes()).toEqual([])
  }, 60_000)
})

describe('readiness means pods', () => {
  it('refuses a canary scaled to 0, writing nothing', async () => {
    const scaled = deployment('v2')
    ;(scaled.spec as { replicas: number }).replicas = 0
    api.seed([scaled])
    api.clearRequests()
    const result = await action(VS_PLAN)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toMatch(
      /the canary \(v2\) is not ready: Deployment default\/reviews-v2: scaled to 0 replicas/
    )
    expect(api.writes()).toEqual([])
  }, 60_000)

  it('a kubernetes check fails once the canary is scaled to 0, and verify rolls back', async () => {
    await setup(VS_PLAN)
    await setup(VS_PLAN)
    const scaled = api.get('apps/v1', 'Deployment', 'default', 'reviews-v2') as KubeObject
    ;(scaled.spec as { replicas: number }).replicas = 0
    api.put(scaled)
    const plan = `${VS_PLAN}  interval: 200ms\n  verifyWindow: 200ms\n  checks:\n    - name: pods\n      kubernetes: {}\n`
    const verify = await action(plan, { command: 'verify' })
    expect(verify.outputs.status).toBe('rolled-back')
    expect(verify.exitCode).toBe(1)
    expect(verify.stdout).toContain('scaled to 0 replicas')
  }, 60_000)

  it('refuses to pin to a stable version that is gone, naming the version serving now', async () => {
    for (let stage = 0; stage < 5; stage++) await setup(VS_PLAN)
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v1')).toBeUndefined()
    api.clearRequests()
    const hotfix = await action(VS_PLAN, { revision: 'v2-hotfix' })
    expect(hotfix.exitCode).toBe(1)
    expect(errorOf(hotfix)).toContain('the stable version (v1) cannot take the traffic')
    expect(errorOf(hotfix)).toContain('set stable: v2')
    expect(api.writes()).toEqual([])
  }, 120_000)
})

describe('deleteStable never deletes the canary', () => {
  it('refuses a stable subset whose selector also matches the canary pods, before any write', async () => {
    const rule = api.get(NETWORKING, 'DestinationRule', 'default', 'reviews') as KubeObject
    rule.spec = { host: 'reviews', subsets: [{ name: 'v1' }, { name: 'v2', labels: { version: 'v2' } }] }
    api.put(rule)
    api.clearRequests()
    const result = await action(VS_PLAN)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain('deleteStable would delete the canary: the stable selector app=reviews')
    expect(api.writes()).toEqual([])
    expect(api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')).toBeDefined()
  }, 60_000)
  it('warns at finalize about another route that still sends traffic to the stable version it deletes', async () => {
    const edited = virtualService()
    const admin = {
      name: 'reviews-admin',
      match: [{ uri: { prefix: '/admin' } }],
      route: [{ destination: { ...DEST, subset: 'v1' } }]
    }
    ;(edited.spec as { http: Route[] }).http.push(admin as Route)
    api.put(edited)
    const plan = VS_PLAN.replace('stable: v1', 'routing: { name: reviews, route: reviews-route }\nstable: v1')
    const statuses: string[] = []
    let last: ActionResult | undefined
    for (let run = 0; run < 5; run++) {
      last = await action(plan)
      statuses.push(last.outputs.status)
    }
    expect(statuses).toEqual(['advanced', 'advanced', 'advanced', 'advanced', 'completed'])
    expect(warningsOf(last!).join('\n')).toMatch(
      /VirtualService default\/reviews spec\.http\[\d\] still sends traffic to v1, whose Deployments deleteStable deletes now/
    )
    // The route the release does not manage is left as it was.
    expect(route('reviews-admin')).toEqual(admin)
  }, 60_000)
})

describe('a routing object that has gone missing', () => {
  it('is an error for every command, never "idle" or "nothing to roll back"', async () => {
    await setup(VS_PLAN)
    api.remove(NETWORKING, 'VirtualService', 'default', 'reviews')
    for (const command of ['status', 'rollback', 'verify', 'advance']) {
      const result = await action(VS_PLAN, { command })
      expect(result.exitCode).toBe(1)
      expect(errorOf(result)).toContain('VirtualService default/reviews not found')
    }
  }, 60_000)
})

describe('a rollback keeps what the release does not manage', () => {
  it("restores the managed routes and keeps someone's edit to another route, with a warning", async () => {
    await setup(VS_PLAN)
    await setup(VS_PLAN)
    const edit = (change: (spec: { hosts: string[]; http: Route[] }) => void) => {
      const edited = virtualService()
      change(edited.spec as { hosts: string[]; http: Route[] })
      api.put(edited)
    }
    // An edit outside the release's routes does not stop it: the next stage keeps it, and says so.
    edit(spec => spec.hosts.push('reviews.internal.example.com'))
    const next = await action(VS_PLAN)
    expect(next.exitCode).toBe(0)
    expect(next.outputs.stage).toBe('50%')
    expect(next.stdout).toContain('changed outside the routes this release manages')
    expect((virtualService().spec as { hosts: string[] }).hosts).toContain('reviews.internal.example.com')
    // Another one after the last write: the rollback keeps it too, with a warning.
    edit(spec => (spec.http[0].timeout = '9s'))
    const rolledBack = await action(VS_PLAN, { command: 'rollback' })
    expect(rolledBack.outputs.status).toBe('rolled-back')
    expect(route('ratings-route')).toEqual({ ...RATINGS_ROUTE, timeout: '9s' })
    expect((virtualService().spec as { hosts: string[] }).hosts).toContain('reviews.internal.example.com')
    expect(route('reviews-route').route).toEqual([{ destination: { ...DEST, subset: 'v1' } }])
    expect(warningsOf(rolledBack).join('\n')).toContain('changed outside the routes this release manages')
  }, 60_000)
})

describe('every weight stage moves traffic', () => {
  function shareOfTwenty() {
    const edited = virtualService()
    const reviews = (edited.spec as { http: Route[] }).http[1] as unknown as { route: object[] }
    reviews.route = [
      { destination: { ...DEST, subset: 'v1' }, weight: 20 },
      { destination: { host: 'ratings', subset: 'v1' }, weight: 80 }
    ]
    api.put(edited)
  }

  it('refuses stages that round to no change on a small share, before any write', async () => {
    shareOfTwenty()
    api.clearRequests()
    const plan =
      'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - weight: 1\n  - weight: 2\nanalysis:\n  bake: 0s\n'
    const result = await action(plan)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain("stage '1%' cannot change the split")
    expect(api.writes()).toEqual([])
  }, 60_000)

  it('outputs the weight actually applied', async () => {
    shareOfTwenty()
    const plan =
      'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - weight: 10\n  - weight: 97\nanalysis:\n  bake: 0s\n'
    expect((await action(plan)).outputs.weight).toBe('10')
    const second = await action(plan)
    expect(second.outputs.weight).toBe('95')
    expect(route('reviews-route').route.map(d => d.weight)).toEqual([1, 19, 80])
  }, 60_000)
})

describe('the pin keeps the stable destination as it is', () => {
  it('does not give the stable version the port and headers of another version', async () => {
    api.seed([deployment('v3')])
    const rule = api.get(NETWORKING, 'DestinationRule', 'default', 'reviews') as KubeObject
    const edited = virtualService()
    ;((edited.spec as { http: Route[] }).http[1] as unknown as { route: object[] }).route = [
      {
        destination: { host: DEST.host, subset: 'v3', port: { number: 9081 } },
        weight: 30,
        headers: { response: { set: { 'x-v': 'v3' } } }
      },
      { destination: { ...DEST, subset: 'v1' }, weight: 50 },
      { destination: { host: 'ratings', subset: 'v1' }, weight: 20 }
    ]
    api.put(edited)
    expect(rule).toBeDefined()
    const plan = 'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - weight: 50\nanalysis:\n  bake: 0s\n'
    const result = await action(plan)
    expect(result.exitCode).toBe(0)
    expect(route('reviews-route').route).toEqual([
      { destination: { ...DEST, subset: 'v1' }, weight: 40 },
      { destination: { ...DEST, subset: 'v2' }, weight: 40 },
      { destination: { host: 'ratings', subset: 'v1' }, weight: 20 }
    ])
  }, 60_000)

  it('refuses a shortened ladder mid-release', async () => {
    for (let stage = 0; stage < 3; stage++) await setup(VS_PLAN)
    const shortened = VS_PLAN.replace('  - weight: 50\n  - weight: 100\n', '')
    const result = await action(shortened)
    expect(result.exitCode).toBe(1)
    expect(errorOf(result)).toContain('the stages differ from the ones the release started with')
  }, 60_000)
})

describe('revisions', () => {
  it.each([
    ['a line break', 'v2\nx', 'v2\\u{a}x'],
    ['a bell', 'v2\u0007', 'v2\\u{7}'],
    ['a right-to-left override', 'v2\u202egnp', 'v2\\u{202e}gnp'],
    ['a zero-width space', 'v\u200b2', 'v\\u{200b}2']
  ])(
    'refuses one with %s, showing it on one line',
    async (_, revision, shown) => {
      const result = await action(VS_PLAN, { revision })
      expect(result.exitCode).toBe(1)
      const error = errorOf(result)
      expect(error).toContain(`input 'revision': '${shown}' must be`)
      expect(api.writes()).toEqual([])
    },
    60_000
  )

  it('after a rollback names no next stage, and a rollback with another revision says what it rolls back', async () => {
    await setup(VS_PLAN)
    const rolledBack = await action(VS_PLAN, { command: 'rollback', revision: 'v3' })
    expect(rolledBack.outputs).toMatchObject({ status: 'rolled-back', 'next-stage': '' })
    expect(warningsOf(rolledBack).join('\n')).toContain(
      'rolling back the release in progress (v2) although revision is v3'
    )
  }, 60_000)
})

describe('a state annotation someone else wrote', () => {
  it('is refused like drift and never rendered, for every command', async () => {
    await setup(VS_PLAN)
    const edited = virtualService()
    const key = 'reviews.default.istio-canary-action.github.io/state'
    const annotations = edited.metadata.annotations as Record<string, string>
    const state = JSON.parse(annotations[key]) as { history: Record<string, unknown>[] }
    state.history.push({
      at: '2026-01-01T00:00:00.000Z',
      revision: 'v2',
      event: 'completed <img src=x onerror=alert(1)> [Approve](https://evil.example/a) @victim\n## forged',
      weight: 100
    })
    annotations[key] = JSON.stringify(state)
    api.put(edited)
    api.clearRequests()
    for (const command of ['status', 'advance', 'rollback']) {
      const result = await action(VS_PLAN, { command })
      expect(result.exitCode).toBe(1)
      expect(errorOf(result)).toContain(`state: the annotation ${key} is not valid (history[`)
      expect(result.stdout).not.toContain('evil.example')
      expect(result.summary).toBe('')
    }
    expect(api.writes()).toEqual([])
  }, 60_000)
})
