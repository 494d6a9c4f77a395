/** The plan reader, given the vocabulary of every router and check kind the engine knows. */
import { CHECK_KINDS } from '../analysis/checks/index.js'
import { loadPlan as loadPlanWith } from '../plan/plan-loader.js'
import { parsePlan as parsePlanWith } from '../plan/plan-parser.js'
import type { Plan } from '../plan/types.js'
import type { PlanVocabulary } from '../plan/vocabulary.js'
import { ROUTER_SYNTAX } from '../routers/registry.js'

export const VOCABULARY: PlanVocabulary = { routers: ROUTER_SYNTAX, checks: CHECK_KINDS }

export function parsePlan(yamlText: string): Plan {
  return parsePlanWith(yamlText, VOCABULARY)
}

/** `source` is `inline` for YAML given directly, else the path as given. */
export function loadPlan(planInput: string, workspace: string): { plan: Plan; source: string } {
  return loadPlanWith(planInput, workspace, VOCABULARY)
}
