/** Finds the plan: the `plan` input is either the YAML itself or a file in the workspace. */
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { PlanError } from './plan-error.js'
import { parsePlan } from './plan-parser.js'
import type { Plan } from './types.js'
import type { PlanVocabulary } from './vocabulary.js'

/** `source` is `inline` for YAML given directly, else the path as given. */
export function loadPlan(
  planInput: string,
  workspace: string,
  vocabulary: PlanVocabulary
): { plan: Plan; source: string } {
  if (isInlinePlan(planInput)) return { plan: parsePlan(planInput, vocabulary), source: 'inline' }
  const relativePath = planInput.trim()
  if (relativePath === '') {
    throw new PlanError(
      '',
      "the 'plan' input is empty; give the path of the plan file or the plan YAML itself"
    )
  }
  // Messages name the path as given, never the machine's absolute path.
  const absolutePath = resolve(workspace, relativePath)
  const stats = statSync(absolutePath, { throwIfNoEntry: false })
  if (stats === undefined) throw new PlanError('', `file '${relativePath}' not found in the workspace`)
  if (!stats.isFile())
    throw new PlanError('', `'${relativePath}' is not a file; give the path of the plan YAML`)
  return { plan: parsePlan(readFileSync(absolutePath, 'utf8'), vocabulary), source: relativePath }
}

function isInlinePlan(planInput: string): boolean {
  const start = planInput.trimStart()
  return planInput.includes('\n') || start.startsWith('service:') || start.startsWith('{')
}
