/** The `analysis` section of a plan: timing, failure policy and the health checks. */
import type {
  Analysis,
  Check,
  CompareCheck,
  CompareDirection,
  HttpCheck,
  KubernetesCheck,
  PrometheusCheck,
  PrometheusSource,
  PrometheusTemplate
} from './types.js'
import { formatDuration } from './duration.js'
import { closestMatch } from './names.js'
import {
  failOnDuplicateNames,
  Mapping,
  readDuration,
  readEnum,
  readInteger,
  readList,
  readNonEmptyString,
  readNumber,
  readRecord,
  readString,
  refine,
  type ForbiddenKeys,
  type Reader
} from './plan-yaml.js'
import { re2Problem } from './re2.js'
import { runnerVariableProblem } from '../analysis/credentials.js'

const ANALYSIS_KEYS = ['interval', 'bake', 'failureLimit', 'onNoData', 'onCancel', 'verifyWindow', 'checks']
const CHECK_KINDS = ['prometheus', 'http', 'kubernetes', 'compare'] as const
const SOURCE_KEYS = ['url', 'bearerTokenEnv', 'usernameEnv', 'passwordEnv']
const TEMPLATES: readonly PrometheusTemplate[] = ['success-rate', 'latency-p99']
const DIRECTIONS: readonly CompareDirection[] = ['increase', 'decrease', 'either']
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const QUERY_PLACEHOLDERS = ['service', 'namespace', 'stable', 'canary', 'interval']
const COMPARE_PLACEHOLDERS = [...QUERY_PLACEHOLDERS, 'version']

const DEFAULT_INTERVAL_MS = 30_000
const DEFAULT_BAKE_MS = 5 * 60_000
const DEFAULT_HTTP_TIMEOUT_MS = 5_000
const VERIFY_WINDOW_INTERVALS = 3

const PROMETHEUS_SECRET =
  'Prometheus credentials must not be written in the plan; put the secret in an environment variable ' +
  '(from a GitHub secret) and name it with bearerTokenEnv, or usernameEnv and passwordEnv'
const PROMETHEUS_FORBIDDEN: ForbiddenKeys = Object.fromEntries(
  ['token', 'bearerToken', 'username', 'password', 'headers', 'authorization'].map(key => [
    key,
    PROMETHEUS_SECRET
  ])
)
const HTTP_SECRET_HEADERS = ['authorization', 'proxy-authorization']

const readPositiveDuration = readDuration({ positive: true })

/** Reads `plan.analysis`, which may be absent: every field has a default. */
export function readAnalysis(plan: Mapping): Analysis {
  const analysis = plan.mapping('analysis', ANALYSIS_KEYS, { allowEmpty: true })
  const intervalMs = analysis.withDefault('interval', readPositiveDuration, DEFAULT_INTERVAL_MS)
  const checks = analysis.withDefault('checks', readList(readCheck), [])
  failOnDuplicateNames(
    analysis.document,
    checks.map((check, index) => ({ name: check.name, path: [...analysis.at('checks'), index, 'name'] })),
    'check'
  )
  return {
    intervalMs,
    bakeMs: analysis.withDefault('bake', readDuration({ positive: false }), DEFAULT_BAKE_MS),
    failureLimit: analysis.withDefault('failureLimit', readInteger(1), 1),
    onNoData: analysis.withDefault('onNoData', readEnum(['fail', 'ignore'] as const), 'fail'),
    onCancel: analysis.withDefault('onCancel', readEnum(['rollback', 'keep'] as const), 'rollback'),
    verifyWindowMs: analysis.withDefault(
      'verifyWindow',
      refine(readPositiveDuration, ms =>
        ms >= intervalMs
          ? undefined
          : `must be at least analysis.interval (${formatDuration(intervalMs)}) so the checks run at least once; got ${formatDuration(ms)}`
      ),
      VERIFY_WINDOW_INTERVALS * intervalMs
    ),
    checks
  }
}

const readCheck: Reader<Check> = (value, path, document) => {
  const check = Mapping.read(document, path, value, ['name', ...CHECK_KINDS])
  const name = check.required('name', readNonEmptyString, 'each check needs a unique name for reports')
  switch (check.exactlyOneOf(CHECK_KINDS)) {
    case 'prometheus':
      return readPrometheusCheck(name, check)
    case 'http':
      return readHttpCheck(name, check)
    case 'kubernetes':
      return readKubernetesCheck(name, check)
    case 'compare':
      return readCompareCheck(name, check)
  }
}

function readPrometheusCheck(name: string, check: Mapping): PrometheusCheck {
  const prometheus = check.mapping('prometheus', [...SOURCE_KEYS, 'query', 'template', 'min', 'max'], {
    forbidden: PROMETHEUS_FORBIDDEN
  })
  const source = readPrometheusSource(prometheus)
  const queryKind = prometheus.exactlyOneOf(['query', 'template'])
  const query =
    queryKind === 'query' ? prometheus.optional('query', readQuery(QUERY_PLACEHOLDERS)) : undefined
  const template = queryKind === 'template' ? prometheus.optional('template', readEnum(TEMPLATES)) : undefined
  const bounds = template === 'success-rate' ? readRatio : readNumber
  const min = prometheus.optional('min', bounds)
  const max = prometheus.optional('max', bounds)
  if (min === undefined && max === undefined) {
    check.fail('prometheus', 'needs min, max or both: the bounds a healthy value stays within')
  }
  if (min !== undefined && max !== undefined && min > max) {
    prometheus.fail('min', `must not be greater than max (${max}); got ${min}`)
  }
  return {
    kind: 'prometheus',
    name,
    prometheus: source,
    ...(query !== undefined && { query }),
    ...(template !== undefined && { template }),
    ...(min !== undefined && { min }),
    ...(max !== undefined && { max })
  }
}

const readRatio = refine(readNumber, value =>
  value >= 0 && value <= 1
    ? undefined
    : `the success-rate template is a ratio from 0 to 1 (write 0.99 for 99%); got ${value}`
)

function readCompareCheck(name: string, check: Mapping): CompareCheck {
  const compare = check.mapping('compare', ['prometheus', 'direction', 'tolerance', 'confidence'])
  if (!compare.has('prometheus')) {
    compare.fail(
      'prometheus',
      'is required: { url, query } of the samples to compare; the query uses $version'
    )
  }
  const prometheus = compare.mapping('prometheus', [...SOURCE_KEYS, 'query'], {
    forbidden: PROMETHEUS_FORBIDDEN
  })
  const source = readPrometheusSource(prometheus)
  const query = prometheus.required(
    'query',
    refine(readQuery(COMPARE_PLACEHOLDERS), text =>
      text.includes('$version')
        ? undefined
        : 'must contain $version: the query runs once for stable and once for canary with $version replaced'
    ),
    'the PromQL whose samples are compared, with $version'
  )
  return {
    kind: 'compare',
    name,
    prometheus: source,
    query,
    direction: compare.withDefault('direction', readEnum(DIRECTIONS), 'increase'),
    tolerance: compare.withDefault(
      'tolerance',
      refine(readNumber, value => (value > 0 ? undefined : `must be greater than 0; got ${value}`)),
      0.25
    ),
    confidence: compare.withDefault(
      'confidence',
      refine(readNumber, value =>
        value > 0.5 && value < 1
          ? undefined
          : `must be greater than 0.5 and less than 1 (e.g. 0.98); got ${value}`
      ),
      0.98
    )
  }
}

function readHttpCheck(name: string, check: Mapping): HttpCheck {
  const http = check.mapping('http', [
    'url',
    'method',
    'headers',
    'headersFromEnv',
    'expectStatus',
    'expectBody',
    'timeout'
  ])
  const headers = http.withDefault('headers', readRecord(readString, inlineHeaderProblem), {})
  const headersFromEnv = http.optional('headersFromEnv', readRecord(readEnvName, headerNameProblem))
  const inlineNames = new Set(Object.keys(headers).map(header => header.toLowerCase()))
  const setTwice = Object.keys(headersFromEnv ?? {}).find(header => inlineNames.has(header.toLowerCase()))
  if (setTwice !== undefined) {
    http.fail('headersFromEnv', `sets '${setTwice}', which headers also sets; keep one of the two`)
  }
  const expectBody = http.optional('expectBody', refine(readString, re2Problem))
  return {
    kind: 'http',
    name,
    url: http.required('url', readUrl, 'the URL to request, http:// or https://'),
    method: http.withDefault('method', readHttpMethod, 'GET'),
    headers,
    ...(headersFromEnv !== undefined && { headersFromEnv }),
    expectStatus: http.withDefault(
      'expectStatus',
      readList(readInteger(100, 599), 'must list at least one status code, e.g. [200]'),
      [200]
    ),
    ...(expectBody !== undefined && { expectBody }),
    timeoutMs: http.withDefault('timeout', readPositiveDuration, DEFAULT_HTTP_TIMEOUT_MS)
  }
}

function readKubernetesCheck(name: string, check: Mapping): KubernetesCheck {
  const kubernetes = check.mapping('kubernetes', ['maxRestarts'], { allowEmpty: true })
  return { kind: 'kubernetes', name, maxRestarts: kubernetes.withDefault('maxRestarts', readInteger(0), 0) }
}

function readPrometheusSource(prometheus: Mapping): PrometheusSource {
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

/** A PromQL query whose `$placeholders` are all in `allowed`. */
function readQuery(allowed: readonly string[]): Reader<string> {
  return refine(readNonEmptyString, query => {
    const placeholders = [...query.matchAll(/\$([A-Za-z_]\w*)/g)].map(([, placeholder]) => placeholder)
    const unknown = placeholders.find(placeholder => !allowed.includes(placeholder))
    if (unknown === undefined) return undefined
    const list = allowed.map(name => `$${name}`).join(', ')
    if (COMPARE_PLACEHOLDERS.includes(unknown)) {
      return `$${unknown} is only available in compare checks; allowed here: ${list}`
    }
    const suggestion = closestMatch(unknown, allowed)
    const hint = suggestion === undefined ? '' : ` did you mean '$${suggestion}'?`
    return `unknown placeholder '$${unknown}'; allowed: ${list}.${hint}`
  })
}

/** Never echoes the URL: it may carry credentials, which are refused. */
const readUrl = refine(readNonEmptyString, text => {
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
const readEnvName = refine(readString, text =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(text)
    ? runnerVariableProblem(text)
    : 'must be the name of an environment variable (letters, digits and _) holding the secret, not the secret itself'
)

const readHttpMethod: Reader<string> = (value, path, document) => {
  const method = readString(value, path, document).toUpperCase()
  if (HTTP_METHODS.includes(method)) return method
  return document.fail(path, `must be one of ${HTTP_METHODS.join(' | ')}; got '${method}'`)
}

function headerNameProblem(name: string): string | undefined {
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name) ? undefined : `'${name}' is not a valid HTTP header name`
}

function inlineHeaderProblem(name: string): string | undefined {
  if (HTTP_SECRET_HEADERS.includes(name.toLowerCase())) {
    return (
      `must not be written in the plan; put the secret in an environment variable and name it: ` +
      `headersFromEnv: { ${name}: MY_ENV_VAR }`
    )
  }
  return headerNameProblem(name)
}
