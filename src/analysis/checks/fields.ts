/** Plan fields several check kinds read: URLs, credential variable names, Prometheus sources and queries. */
import { closestMatch } from '../../plan/names.js'
import {
  readNonEmptyString,
  readString,
  refine,
  type ForbiddenKeys,
  type Mapping,
  type Reader
} from '../../plan/plan-yaml.js'

import type { PrometheusSource } from '../prometheus-client.js'
import { runnerVariableProblem } from '../credentials.js'
import type { CredentialVariable } from './check-kind.js'

export type { PrometheusSource }

export const SOURCE_KEYS = ['url', 'bearerTokenEnv', 'usernameEnv', 'passwordEnv']
export const QUERY_PLACEHOLDERS = ['service', 'namespace', 'stable', 'canary', 'interval']
export const VERSION_PLACEHOLDERS = [...QUERY_PLACEHOLDERS, 'version']
export const SEQUENTIAL_PLACEHOLDERS = [...VERSION_PLACEHOLDERS, 'window']

const PROMETHEUS_SECRET =
  'Prometheus credentials must not be written in the plan; put the secret in an environment variable ' +
  '(from a GitHub secret) and name it with bearerTokenEnv, or usernameEnv and passwordEnv'
export const PROMETHEUS_FORBIDDEN: ForbiddenKeys = Object.fromEntries(
  ['token', 'bearerToken', 'username', 'password', 'headers', 'authorization'].map(key => [
    key,
    PROMETHEUS_SECRET
  ])
)

/** Never echoes the URL: it may carry credentials, which are refused. */
export const readUrl = refine(readNonEmptyString, text => {
  const url = URL.canParse(text) ? new URL(text) : undefined
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return 'must be an http:// or https:// URL, e.g. http://prometheus.istio-system:9090'
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain credentials; put the secret in an environment variable and name it instead'
  }
  return undefined
})

/** Never echoes the value: someone may have pasted the secret itself. Names the runner's own are refused. */
export const readEnvName = refine(readString, text =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(text)
    ? runnerVariableProblem(text)
    : 'must be the name of an environment variable (letters, digits and _) holding the secret, not the secret itself'
)

export function readPrometheusSource(prometheus: Mapping): PrometheusSource {
  const url = prometheus.required(
    'url',
    readUrl,
    'the Prometheus base URL, e.g. http://prometheus.istio-system:9090'
  )
  const bearerTokenEnv = prometheus.optional('bearerTokenEnv', readEnvName)
  const usernameEnv = prometheus.optional('usernameEnv', readEnvName)
  const passwordEnv = prometheus.optional('passwordEnv', readEnvName)
  if ((usernameEnv === undefined) !== (passwordEnv === undefined)) {
    const missing = usernameEnv === undefined ? 'usernameEnv' : 'passwordEnv'
    prometheus.fail(missing, 'is required with basic auth: usernameEnv and passwordEnv go together')
  }
  if (bearerTokenEnv !== undefined && usernameEnv !== undefined) {
    prometheus.fail('usernameEnv', 'cannot be combined with bearerTokenEnv; use one way of authenticating')
  }
  return {
    url,
    ...(bearerTokenEnv !== undefined && { bearerTokenEnv }),
    ...(usernameEnv !== undefined && { usernameEnv }),
    ...(passwordEnv !== undefined && { passwordEnv })
  }
}

/** The environment variables a Prometheus source reads credentials from; `field` is where the source is. */
export function sourceSecrets(source: PrometheusSource, field: string): CredentialVariable[] {
  const variables: CredentialVariable[] = []
  const add = (key: string, variable: string | undefined, sent: CredentialVariable['sent']) => {
    if (variable) variables.push({ field: `${field}.${key}`, variable, sent })
  }
  add('bearerTokenEnv', source.bearerTokenEnv, 'as-is')
  add('usernameEnv', source.usernameEnv, 'basic-user')
  add('passwordEnv', source.passwordEnv, 'basic-password')
  return variables
}

/** A PromQL query whose `$placeholders` are all in `allowed`. */
export function readQuery(allowed: readonly string[]): Reader<string> {
  return refine(readNonEmptyString, query => {
    const placeholders = [...query.matchAll(/\$([A-Za-z_]\w*)/g)].map(([, placeholder]) => placeholder)
    const unknown = placeholders.find(placeholder => !allowed.includes(placeholder))
    if (unknown === undefined) return undefined
    const list = allowed.map(name => `$${name}`).join(', ')
    if (unknown === 'window') {
      return `$window is only available in compare checks with method: sequential; allowed here: ${list}`
    }
    if (VERSION_PLACEHOLDERS.includes(unknown)) {
      return `$${unknown} is only available in compare checks; allowed here: ${list}`
    }
    const suggestion = closestMatch(unknown, allowed)
    const hint = suggestion === undefined ? '' : ` did you mean '$${suggestion}'?`
    return `unknown placeholder '$${unknown}'; allowed: ${list}.${hint}`
  })
}
