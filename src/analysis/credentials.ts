/**
 * Rules for the credentials checks read from the environment (`headersFromEnv`, Prometheus `bearerTokenEnv`,
 * `usernameEnv`/`passwordEnv`): which variables a plan may name, which values can be sent, and removing them
 * from any text. No message here ever contains a credential's value.
 */
import type { Check, PrometheusSource } from '../plan/types.js'

/**
 * Variables the runner sets for itself: step inputs (`INPUT_*`, which hold the kubeconfig and the
 * github-token), the runtime's tokens (`ACTIONS_RUNTIME_TOKEN`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`…), the
 * workflow context (`GITHUB_*`, including a `GITHUB_TOKEN` a workflow exports) and the runner's own. A plan
 * naming one of them would send it to whatever URL its check calls.
 */
const RUNNER_PREFIXES = ['INPUT_', 'ACTIONS_', 'GITHUB_', 'RUNNER_', 'STATE_'] as const

/** Why a plan may not read this variable as a credential, or undefined when it may. */
export function runnerVariableProblem(name: string): string | undefined {
  const upper = name.toUpperCase()
  const prefix = RUNNER_PREFIXES.find(candidate => upper.startsWith(candidate))
  if (prefix === undefined) return undefined
  return (
    `names ${name}, one of the runner's own variables (${RUNNER_PREFIXES.map(p => `${p}*`).join(', ')}), ` +
    `which checks may not send anywhere; put the credential in a variable of your own, e.g. ` +
    `env: { SMOKE_API_KEY: \${{ secrets.SMOKE_API_KEY }} } on the step, and name that`
  )
}

/**
 * Characters an HTTP header value can carry (RFC 9110 field-value: visible ASCII, obs-text, spaces and tabs
 * inside). A line break would make the HTTP client throw an error that quotes the value.
 */
const HEADER_VALUE = /^[\x21-\x7e\x80-\xff]([\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/

/** What makes a value impossible to send as an HTTP header value, without quoting it; undefined when it can be. */
export function headerValueProblem(value: string): string | undefined {
  if (value === '') return 'is empty'
  if (/[\r\n]/.test(value)) return 'contains a line break (often a trailing newline pasted into the secret)'
  if (/^[\t ]|[\t ]$/.test(value)) return 'starts or ends with whitespace'
  if (!HEADER_VALUE.test(value)) return 'contains a control character or a character outside Latin-1'
  return undefined
}

interface CredentialVariable {
  /** The plan field that names the variable, e.g. `analysis.checks[1].http.headersFromEnv.x-api-key`. */
  field: string
  variable: string
  /** Whether the value travels as an HTTP header value as it is (not base64-encoded). */
  sentAsIs: boolean
}

function prometheusVariables(source: PrometheusSource, field: string): CredentialVariable[] {
  const variables: CredentialVariable[] = []
  if (source.bearerTokenEnv)
    variables.push({ field: `${field}.bearerTokenEnv`, variable: source.bearerTokenEnv, sentAsIs: true })
  if (source.usernameEnv)
    variables.push({ field: `${field}.usernameEnv`, variable: source.usernameEnv, sentAsIs: false })
  if (source.passwordEnv)
    variables.push({ field: `${field}.passwordEnv`, variable: source.passwordEnv, sentAsIs: false })
  return variables
}

/** Every environment variable the checks read credentials from, with the field that names it. */
export function credentialVariables(checks: readonly Check[]): CredentialVariable[] {
  return checks.flatMap((check, index) => {
    const base = `analysis.checks[${index}]`
    if (check.kind === 'http') {
      return Object.entries(check.headersFromEnv ?? {}).map(([header, variable]) => ({
        field: `${base}.http.headersFromEnv.${header}`,
        variable,
        sentAsIs: true
      }))
    }
    if (check.kind === 'prometheus') return prometheusVariables(check.prometheus, `${base}.prometheus`)
    if (check.kind === 'compare') return prometheusVariables(check.prometheus, `${base}.compare.prometheus`)
    return []
  })
}

/**
 * Checks, before anything is written, that every credential that is set can be sent as a header value.
 * Throws one error naming the field and the variable, never the value. Unset variables are left to the
 * check (it fails with its own message).
 */
export function assertCredentialValues(checks: readonly Check[], env: NodeJS.ProcessEnv): void {
  for (const { field, variable, sentAsIs } of credentialVariables(checks)) {
    const value = env[variable]
    if (value === undefined || !sentAsIs) continue
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
 * The credential values the checks read, and the forms they are sent in (a basic-auth header is the
 * base64 of `user:password`), for masking.
 */
export function credentialSecrets(checks: readonly Check[], env: NodeJS.ProcessEnv): string[] {
  const secrets = credentialVariables(checks)
    .map(({ variable }) => env[variable])
    .filter((value): value is string => Boolean(value))
  for (const check of checks) {
    if (check.kind !== 'prometheus' && check.kind !== 'compare') continue
    const { usernameEnv, passwordEnv } = check.prometheus
    if (usernameEnv && passwordEnv && env[usernameEnv] !== undefined && env[passwordEnv] !== undefined) {
      secrets.push(Buffer.from(`${env[usernameEnv]}:${env[passwordEnv]}`).toString('base64'))
    }
  }
  return secrets
}
