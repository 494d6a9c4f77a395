import type { Evaluation } from '../../src/analysis/types.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { buildLadder } from '../../src/report/build-report.js'
import type { RunReport } from '../../src/report/types.js'

const evaluation = (
  check: string,
  at: string,
  value: number | null,
  verdict: Evaluation['verdict']
): Evaluation => ({
  check,
  kind: 'prometheus',
  at,
  value,
  threshold: '>= 0.99',
  verdict,
  message: `${check} ${value ?? 'no data'}`
})

/** A run that applied and passed the 5% stage of a four-stage plan. */
export function sampleReport(overrides: Partial<RunReport> = {}): RunReport {
  return {
    command: 'advance',
    status: 'advanced',
    message: 'Stage 2/4 5% passed',
    failed: false,
    dryRun: false,
    service: 'reviews',
    namespace: 'default',
    router: 'VirtualService',
    objects: ['VirtualService default/reviews'],
    revision: 'v2',
    stable: 'v1',
    canary: 'v2',
    stage: { name: '5%', index: 2 },
    nextStage: { name: '50%', index: 3 },
    weight: { before: 0, after: 5 },
    done: false,
    ladder: [
      {
        index: 1,
        name: 'test-user',
        kind: 'match',
        weight: 0,
        split: 'cookie user=test-user -> v2',
        state: 'passed',
        at: '2024-05-01T10:00:00Z',
        runId: '4241'
      },
      {
        index: 2,
        name: '5%',
        kind: 'weight',
        weight: 5,
        split: '95% v1 / 5% v2',
        state: 'passed',
        at: '2024-05-01T11:00:00Z',
        runId: '4242'
      },
      { index: 3, name: '50%', kind: 'weight', weight: 50, split: '50% v1 / 50% v2', state: 'pending' },
      { index: 4, name: 'finalize', kind: 'finalize', weight: 100, split: '100% v2', state: 'pending' }
    ],
    noData: [],
    changes: [
      {
        object: 'VirtualService default/reviews',
        action: 'update',
        diff: '--- before\n+++ after\n@@ -1,3 +1,3 @@\n-      weight: 100\n+      weight: 95\n'
      }
    ],
    evaluations: [
      evaluation('success-rate', '2024-05-01T10:55:00Z', 0.95, 'fail'),
      evaluation('success-rate', '2024-05-01T10:59:00Z', 0.995, 'pass'),
      evaluation('latency-p99', '2024-05-01T10:59:00Z', 0.2, 'pass')
    ],
    history: [
      { at: '2024-05-01T09:59:00Z', revision: 'v2', event: 'pinned to v1', stageIndex: 0, weight: 0 },
      { at: '2024-05-01T10:00:00Z', revision: 'v2', event: 'applied test-user', stageIndex: 1, weight: 0 },
      { at: '2024-05-01T10:30:00Z', revision: 'v2', event: 'passed test-user', stageIndex: 1, weight: 0 },
      { at: '2024-05-01T10:50:00Z', revision: 'v2', event: 'applied 5%', stageIndex: 2, weight: 5 },
      { at: '2024-05-01T11:00:00Z', revision: 'v2', event: 'passed 5%', stageIndex: 2, weight: 5 }
    ],
    approval: { nextStage: '50%', environment: 'production-canary' },
    warnings: [],
    run: { id: '4242', url: 'https://github.example/octo-org/bookinfo/actions/runs/4242' },
    timings: { startedAt: '2024-05-01T10:50:00Z', finishedAt: '2024-05-01T11:00:00Z', durationMs: 600000 },
    ...overrides
  }
}

/**
 * A run that applied the 10% stage of a plan with a mirror stage (half the requests copied) and a sticky canary,
 * its ladder built from the plan as the action builds it.
 */
export function trafficFeaturesReport(): RunReport {
  const plan = parsePlan(
    'service: reviews\nstable: v1\ncanary: v2\nsessionAffinity: { cookieName: istio-canary, maxAge: 24h }\n' +
      'stages:\n  - name: shadow\n    mirror: 50\n  - weight: 10\n  - weight: 100\n'
  )
  const ladder = buildLadder(plan, undefined).map(entry => ({
    ...entry,
    state: entry.index === 1 ? ('passed' as const) : entry.index === 2 ? ('current' as const) : entry.state
  }))
  return sampleReport({
    message: 'Stage 2/3 10% applied',
    stage: { name: '10%', index: 2 },
    nextStage: { name: '100%', index: 3 },
    weight: { before: 0, after: 10 },
    ladder,
    approval: { nextStage: '100%', environment: 'production-canary' }
  })
}
