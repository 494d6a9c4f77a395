/**
 * Rules for the credentials checks read from the environment (`headersFromEnv`, Prometheus `bearerTokenEnv`,
 * `usernameEnv`/`passwordEnv`): which variables a plan may name, and which values can be sent. No message here
 * ever contains a credential's value. Which variables each check reads is its kind's `secrets` (checks/index.ts).
 */
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
