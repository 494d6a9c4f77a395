/** Every check kind, by the key a plan writes it under. A new kind is one file and one entry here. */
import type { CheckBase, CheckKind } from '../../plan/types.js'
import { headerValueProblem } from '../credentials.js'
import { errorMessage } from '../errors.js'
import type { CheckEnvironment, Evaluation } from '../types.js'
import type { CheckKindDefinition, CheckOutcome, CredentialVariable } from './check-kind.js'
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

/** Every environment variable the checks read credentials from, with the plan field that names it. */
export function credentialVariables(checks: readonly CheckBase[]): CredentialVariable[] {
  return checks.flatMap((check, index) =>
    checkKindOf(check)
      .secrets(check)
      .map(credential => ({ ...credential, field: `analysis.checks[${index}].${credential.field}` }))
  )
}

/**
 * Checks, before anything is written, that every credential that is set can be sent as a header value.
 * Throws one error naming the field and the variable, never the value. Unset variables are left to the
 * check (it fails with its own message).
 */
export function assertCredentialValues(checks: readonly CheckBase[], env: NodeJS.ProcessEnv): void {
  for (const { field, variable, sent } of credentialVariables(checks)) {
    const value = env[variable]
    if (value === undefined || sent !== 'as-is') continue
    const problem = headerValueProblem(value)
    if (problem) {
      const fix =
        value === ''
          ? 'set it from a secret that exists (a secret that does not exist reads as empty)'
          : 'store the secret without it'
      throw new Error(
        `${field}: the value of environment variable ${variable} ${problem}, so it cannot be sent in an ` +
          `HTTP header; ${fix}`
      )
    }
  }
}

/**
 * The credential values the checks read, and the forms they are sent in (a basic-auth header is the base64
 * of `user:password`), for masking.
 */
export function credentialSecrets(checks: readonly CheckBase[], env: NodeJS.ProcessEnv): string[] {
  return checks.flatMap(check => {
    const credentials = checkKindOf(check).secrets(check)
    const values = credentials
      .map(({ variable }) => env[variable])
      .filter((value): value is string => Boolean(value))
    const user = credentials.find(credential => credential.sent === 'basic-user')
    const password = credentials.find(credential => credential.sent === 'basic-password')
    if (user && password && env[user.variable] !== undefined && env[password.variable] !== undefined) {
      values.push(Buffer.from(`${env[user.variable]}:${env[password.variable]}`).toString('base64'))
    }
    return values
  })
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
