/** The state machine without a cluster: every command from every state, and what a finished watch means. */
import { describe, expect, it } from '@jest/globals'
import { decide, type EngineCommand } from '../../src/engine/commands.js'
import type { Phase, ReleaseIdentity, ReleaseState } from '../../src/engine/state.js'
import { concludeWatch, type Situation, type Watched } from '../../src/engine/transition.js'

const IDENTITY: ReleaseIdentity = {
  service: 'reviews',
  namespace: 'default',
  stable: 'v1',
  canary: 'v2',
  revision: 'v2',
  ladder: 'aaaaaaaaaaaaaaaa',
  objects: ['default/reviews']
}
const APPLIED_AT = '2026-01-01T10:00:00.000Z'

function state(phase: Phase, stageIndex: number, fields: Partial<ReleaseState> = {}): ReleaseState {
  return {
    release: IDENTITY,
    stageIndex,
    phase,
    appliedAt: APPLIED_AT,
    written: {},
    unmanaged: {},
    history: [],
    ...fields
  }
}

function situation(recorded: ReleaseState | undefined, planned: Partial<ReleaseIdentity> = {}): Situation {
  const identity = { ...IDENTITY, ...planned }
  return { revision: identity.revision, identity, state: recorded, stageCount: 5 }
}

const run = (command: EngineCommand, recorded?: ReleaseState, planned?: Partial<ReleaseIdentity>) =>
  decide(command, situation(recorded, planned))

describe('advance', () => {
  it('starts a release from idle, and after another revision completed or was rolled back', () => {
    expect(run('advance')).toEqual({ kind: 'start', stageIndex: 1, retry: false })
    expect(run('advance', state('completed', 5), { revision: 'v3' })).toMatchObject({ kind: 'start' })
    expect(run('advance', state('rolled-back', 0), { revision: 'v3' })).toMatchObject({ kind: 'start' })
  })

  it('applies the next stage after a passed stage or the pin', () => {
    expect(run('advance', state('pinned', 0))).toEqual({ kind: 'apply', stageIndex: 1 })
    expect(run('advance', state('passed', 2))).toEqual({ kind: 'apply', stageIndex: 3 })
  })

  it('watches again a stage whose run died, and a held stage', () => {
    expect(run('advance', state('watching', 3))).toEqual({ kind: 'resume', stageIndex: 3 })
    expect(run('advance', state('held', 3))).toEqual({ kind: 'resume', stageIndex: 3 })
  })

  it('refuses the revision that was rolled back, pointing at retry', () => {
    const step = run(
      'advance',
      state('rolled-back', 0, { rollback: { reason: 'x', stageIndex: 2, at: APPLIED_AT } })
    )
    expect(step).toMatchObject({ kind: 'refuse' })
    expect(step.kind === 'refuse' && step.message).toMatch(/revision v2 was rolled back \(x\).*retry command/)
  })

  it('is unchanged once the revision completed', () => {
    expect(run('advance', state('completed', 5))).toEqual({
      kind: 'report',
      outcome: { status: 'unchanged', message: 'revision v2 is already completed' }
    })
  })

  it('refuses another revision while one is in progress', () => {
    const step = run('advance', state('passed', 2), { revision: 'v3' })
    expect(step.kind === 'refuse' && step.message).toMatch(
      /v2 at stage 2\/5 \(passed\) is in progress; .* before releasing v3/
    )
  })

  it.each([
    ['canary', { canary: 'v3' }, 'canary is v3, the release has v2'],
    ['stable', { stable: 'v0' }, 'stable is v0, the release has v1'],
    ['stages', { ladder: 'bbbbbbbbbbbbbbbb' }, 'the stages differ'],
    [
      'routing',
      { objects: ['default/reviews', 'istio-ingress/bookinfo'] },
      'routing lists default/reviews, istio-ingress/bookinfo'
    ]
  ])(
    'refuses a plan whose %s differs from the release in progress, saying what differs',
    (_, planned, words) => {
      const step = run('advance', state('passed', 2), planned)
      expect(step.kind).toBe('refuse')
      expect(step.kind === 'refuse' && step.message).toContain(words)
      expect(step.kind === 'refuse' && step.message).toMatch(
        /^the plan does not match the release in progress/
      )
    }
  )
})

describe('promote', () => {
  it('jumps to the last stage from idle and from the middle', () => {
    expect(run('promote')).toEqual({ kind: 'start', stageIndex: 5, retry: false })
    expect(run('promote', state('passed', 2))).toEqual({ kind: 'apply', stageIndex: 5 })
    expect(run('promote', state('watching', 2))).toEqual({ kind: 'apply', stageIndex: 5 })
    expect(run('promote', state('watching', 5))).toEqual({ kind: 'resume', stageIndex: 5 })
  })
})

describe('verify', () => {
  it('watches the stage in effect', () => {
    expect(run('verify', state('passed', 3))).toEqual({ kind: 'verify', stageIndex: 3 })
    expect(run('verify', state('held', 3))).toEqual({ kind: 'verify', stageIndex: 3 })
  })

  it('has nothing to verify when idle, pinned, completed or rolled back', () => {
    for (const recorded of [undefined, state('pinned', 0), state('completed', 5), state('rolled-back', 0)]) {
      expect(run('verify', recorded)).toMatchObject({ kind: 'report', outcome: { status: 'unchanged' } })
    }
  })

  it('goes on with another revision input, but not with other versions', () => {
    expect(run('verify', state('passed', 3), { revision: 'abc123' })).toMatchObject({ kind: 'verify' })
    expect(run('verify', state('passed', 3), { canary: 'v9' })).toMatchObject({ kind: 'refuse' })
  })
})

describe('rollback', () => {
  it('rolls back whatever is in progress, saying when the plan or revision differs', () => {
    expect(run('rollback', state('watching', 2))).toEqual({ kind: 'rollback', notes: [] })
    const step = run('rollback', state('watching', 2), { revision: 'v3' })
    expect(step).toMatchObject({ kind: 'rollback' })
    expect(step.kind === 'rollback' && step.notes).toEqual([
      'rolling back the release in progress (v2) although revision is v3, the release has v2'
    ])
  })

  it('is unchanged with nothing to roll back, and warns after completion', () => {
    expect(run('rollback')).toMatchObject({ kind: 'report', outcome: { status: 'unchanged' } })
    expect(run('rollback', state('rolled-back', 0))).toMatchObject({
      outcome: { message: 'v2 is already rolled back' }
    })
    expect(run('rollback', state('completed', 5))).toMatchObject({
      kind: 'report',
      warnings: ['v2 is completed; the stable version may be gone, so nothing was rolled back']
    })
  })
})

describe('retry', () => {
  it('starts the rolled-back revision again from the pin', () => {
    expect(run('retry', state('rolled-back', 0))).toEqual({ kind: 'start', stageIndex: 1, retry: true })
    // The plan may have been fixed since.
    expect(run('retry', state('rolled-back', 0), { ladder: 'bbbbbbbbbbbbbbbb' })).toMatchObject({
      kind: 'start'
    })
  })

  it('is refused in any other state, and for another revision', () => {
    for (const recorded of [undefined, state('pinned', 0), state('passed', 2), state('completed', 5)]) {
      expect(run('retry', recorded)).toMatchObject({ kind: 'refuse' })
    }
    const other = run('retry', state('rolled-back', 0), { revision: 'v3' })
    expect(other.kind === 'refuse' && other.message).toMatch(
      /rolled-back revision v2 again, but this run's revision is v3/
    )
  })
})

describe('status', () => {
  it.each([
    [undefined, 'idle'],
    [state('watching', 2), 'in-progress'],
    [state('held', 2), 'in-progress'],
    [state('completed', 5), 'completed'],
    [state('rolled-back', 0), 'rolled-back']
  ])('reports %# as %s', (recorded, status) => {
    expect(run('status', recorded)).toMatchObject({ kind: 'report', outcome: { status } })
  })
})

describe('concludeWatch: the state read again when the watch ends decides', () => {
  const watched: Watched = { revision: 'v2', stageIndex: 2, appliedAt: APPLIED_AT }

  it('passes, holds or cancels when the stage is still the one watched', () => {
    expect(concludeWatch(watched, 'passed', state('watching', 2))).toEqual({ kind: 'pass' })
    expect(concludeWatch(watched, 'inconclusive', state('watching', 2))).toEqual({ kind: 'hold' })
    expect(concludeWatch(watched, 'cancelled', state('watching', 2))).toEqual({ kind: 'cancelled' })
  })

  it('gives way to a rollback made meanwhile: rolled back, never advanced', () => {
    const rolledBack = state('rolled-back', 2, {
      rollback: { reason: 'manual rollback by @ops', stageIndex: 2, at: APPLIED_AT }
    })
    for (const verdict of ['passed', 'inconclusive', 'failed', 'cancelled', 'superseded'] as const) {
      expect(concludeWatch(watched, verdict, rolledBack)).toMatchObject({
        kind: 'superseded',
        conflict: false,
        outcome: { status: 'rolled-back', message: expect.stringContaining('manual rollback by @ops') }
      })
    }
  })

  it('reports a conflict when another run moved the release on meanwhile', () => {
    for (const now of [
      state('watching', 3),
      state('watching', 2, { appliedAt: '2026-01-01T11:00:00.000Z' }),
      undefined
    ]) {
      expect(concludeWatch(watched, 'passed', now)).toMatchObject({ kind: 'superseded', conflict: true })
    }
  })

  it('still rolls back on failed checks, whatever was applied meanwhile', () => {
    expect(concludeWatch(watched, 'failed', state('watching', 2))).toEqual({ kind: 'rollback' })
    expect(concludeWatch(watched, 'failed', state('watching', 3))).toEqual({ kind: 'rollback' })
  })

  it('treats a watch that saw the state change as superseded even if it changed back', () => {
    expect(concludeWatch(watched, 'superseded', state('watching', 2))).toMatchObject({ kind: 'superseded' })
  })
})
