/** The traffic split of each stage in words, as the ladder of every report shows it. */
import { describe, expect, it } from '@jest/globals'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { describeSplit } from '../../src/plan/stages.js'

const HEAD = 'service: reviews\nstable: v1\ncanary: v2\n'

/** describeSplit of every stage of the plan, in order. */
function ladderOf(yaml: string): string[] {
  const plan = parsePlan(yaml)
  return plan.stages.map((_, position) => describeSplit(plan, position + 1))
}

describe('describeSplit', () => {
  it('shows the share a mirror stage copies to the canary while every user stays on stable', () => {
    expect(
      ladderOf(
        `${HEAD}stages:\n  - name: shadow\n    mirror: 50\n  - mirror: { percent: 100, methods: [GET, HEAD] }\n  - weight: 10\n`
      )
    ).toEqual(['100% v1, 50% copied to v2', '100% v1, 100% of GET/HEAD copied to v2', '90% v1 / 10% v2'])
  })

  it('names the sticky cookie on the split stages only, never at 100% or finalize', () => {
    expect(
      ladderOf(
        `${HEAD}sessionAffinity: { cookieName: istio-canary, maxAge: 24h }\nstages:\n  - mirror: 100\n  - weight: 10\n  - weight: 50\n  - weight: 100\n  - finalize: { deleteStable: true }\n`
      )
    ).toEqual([
      '100% v1, 100% copied to v2',
      '90% v1 / 10% v2, sticky (cookie istio-canary)',
      '50% v1 / 50% v2, sticky (cookie istio-canary)',
      '100% v2',
      '100% v2, delete v1'
    ])
  })

  it('names the cookie the plan chose, and no cookie without sessionAffinity', () => {
    const stages = 'stages:\n  - weight: 20\n'
    expect(ladderOf(`${HEAD}sessionAffinity: { cookieName: canary_session }\n${stages}`)).toEqual([
      '80% v1 / 20% v2, sticky (cookie canary_session)'
    ])
    expect(ladderOf(`${HEAD}${stages}`)).toEqual(['80% v1 / 20% v2'])
  })
})
