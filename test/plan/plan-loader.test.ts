import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PlanError } from '../../src/plan/plan-error.js'
import { loadPlan } from '../../src/engine/plan-loader.js'

const PLAN_YAML = 'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - weight: 50\n'

describe('loadPlan', () => {
  let workspace: string

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'plan-loader-'))
    mkdirSync(join(workspace, '.github'))
    writeFileSync(join(workspace, '.github', 'canary.yaml'), PLAN_YAML)
  })

  afterAll(() => {
    rmSync(workspace, { recursive: true, force: true })
  })

  it('reads a plan file relative to the workspace', () => {
    const { plan, source } = loadPlan('.github/canary.yaml', workspace)
    expect(source).toBe('.github/canary.yaml')
    expect(plan.stages).toEqual([{ kind: 'weight', name: '50%', weight: 50 }])
  })

  it.each([
    ['multi-line YAML', PLAN_YAML],
    ['a flow mapping', '{ service: reviews, stable: v1, canary: v2, stages: [{ weight: 5 }] }']
  ])('treats %s as the plan itself', (_, input) => {
    expect(loadPlan(input, workspace).source).toBe('inline')
  })

  it('parses a one-line plan starting with service: instead of looking for a file', () => {
    expect(() => loadPlan('service: reviews', workspace)).toThrow('plan: stable: is required')
  })

  it('names a missing file by its workspace-relative path only', () => {
    expect(() => loadPlan('deploy/missing.yaml', workspace)).toThrow(
      new PlanError('', "file 'deploy/missing.yaml' not found in the workspace")
    )
    try {
      loadPlan('deploy/missing.yaml', workspace)
    } catch (error) {
      expect((error as Error).message).not.toContain(workspace)
    }
  })

  it('refuses a directory and an empty input', () => {
    expect(() => loadPlan('.github', workspace)).toThrow("plan: '.github' is not a file")
    expect(() => loadPlan('  ', workspace)).toThrow("plan: the 'plan' input is empty")
  })

  it('reports plan errors from the file', () => {
    writeFileSync(join(workspace, 'bad.yaml'), `${PLAN_YAML}  - weight: 20\n`)
    expect(() => loadPlan('bad.yaml', workspace)).toThrow(
      'plan: stages[1].weight: must be greater than the previous weight stage (50); got 20 (line 6)'
    )
  })
})
