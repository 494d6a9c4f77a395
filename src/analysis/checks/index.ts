/** Every check kind, by the key a plan writes it under. A new kind is one file and one entry here. */
import type { CheckBase, CheckKind } from '../../plan/types.js'
import { errorMessage } from '../errors.js'
import type { CheckEnvironment, Evaluation } from '../types.js'
import type { CheckKindDefinition, CheckOutcome } from './check-kind.js'
import { compareCheck } from './compare.js'
import { httpCheck } from './http.js'
import { kubernetesCheck } from './kubernetes.js'
import { prometheusCheck } from './prometheus.js'

export const CHECK_KINDS = {
  prometheus: prometheusCheck,
  http: httpCheck,
  kubernetes: kubernetesCheck,
  compare: compareCheck
} satisfies { [K in CheckKind]: CheckKindDefinition<CheckBase & { kind: K }> }

/** The definition of a check's kind. The plan reader built the check with this very kind, so it fits. */
export function checkKindOf(check: CheckBase): CheckKindDefinition<CheckBase> {
  return CHECK_KINDS[check.kind] as unknown as CheckKindDefinition<CheckBase>
}

/** Human-readable pass condition of a check, e.g. ">= 0.99" or "status in [200]". */
export function checkThreshold(check: CheckBase): string {
  return checkKindOf(check).threshold(check)
}

/** Names of the environment variables the plan's checks read secrets from. */
export function checkSecrets(checks: readonly CheckBase[]): string[] {
  return checks.flatMap(check => checkKindOf(check).secrets(check))
}

/** Evaluates one check once. Never throws: any error is a `fail` evaluation carrying the error's text. */
export async function evaluateCheck(check: CheckBase, env: CheckEnvironment): Promise<Evaluation> {
  const at = env.now().toISOString()
  let outcome: CheckOutcome
  try {
    outcome = await checkKindOf(check).evaluate(check, env)
  } catch (error) {
    outcome = { value: null, verdict: 'fail', message: errorMessage(error) }
  }
  return { check: check.name, kind: check.kind, at, threshold: checkThreshold(check), ...outcome }
}
