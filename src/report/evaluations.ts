import type { Evaluation } from '../analysis/types.js'

/** The latest evaluation of each check (by the order they were made), in the order the checks first ran. */
export function latestEvaluations(evaluations: readonly Evaluation[]): Evaluation[] {
  const latest = new Map<string, Evaluation>()
  for (const evaluation of evaluations) latest.set(evaluation.check, evaluation)
  return [...latest.values()]
}
