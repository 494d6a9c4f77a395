import { RE2JS } from 're2js'
import { formatDuration } from '../../common/duration.js'
import {
  readDuration,
  readInteger,
  readList,
  readRecord,
  readString,
  refine,
  type Reader
} from '../../plan/plan-yaml.js'
import { re2Problem } from '../../plan/re2.js'
import type { CheckBase } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import { describeRequestFailure } from '../errors.js'
import { takeUrlCredentials } from '../url-credentials.js'
import type { CheckKindDefinition, CheckOutcome } from './check-kind.js'
import { readEnvName, readUrl } from './fields.js'
import { fetchForCheck } from '../http-redirects.js'
import { scrubSecrets } from '../../common/secret-scrubber.js'
import { headerValueProblem } from '../credentials.js'

export interface HttpCheck extends CheckBase {
  kind: 'http'
  url: string
  method: string
  headers: Record<string, string>
  /** Header name -> name of an environment variable holding its value (for secrets such as authorization). */
  headersFromEnv?: Record<string, string>
  expectStatus: number[]
  /** RE2, partial match. */
  expectBody?: string
  timeoutMs: number
}

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const DEFAULT_TIMEOUT_MS = 5_000
const SECRET_HEADERS = ['authorization', 'proxy-authorization']

const readHttpMethod: Reader<string> = (value, path, document) => {
  const method = readString(value, path, document).toUpperCase()
  if (HTTP_METHODS.includes(method)) return method
  return document.fail(path, `must be one of ${HTTP_METHODS.join(' | ')}; got '${method}'`)
}

function headerNameProblem(name: string): string | undefined {
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name) ? undefined : `'${name}' is not a valid HTTP header name`
}

function inlineHeaderProblem(name: string): string | undefined {
  if (SECRET_HEADERS.includes(name.toLowerCase())) {
    return (
      `must not be written in the plan; put the secret in an environment variable and name it: ` +
      `headersFromEnv: { ${name}: MY_ENV_VAR }`
    )
  }
  return headerNameProblem(name)
}

function statusList(check: HttpCheck): string {
  return `[${check.expectStatus.join(', ')}]`
}

function httpThreshold(check: HttpCheck): string {
  const status = `status in ${statusList(check)}`
  return check.expectBody === undefined ? status : `${status}, body ~ /${check.expectBody}/`
}

async function evaluateHttp(check: HttpCheck, env: CheckEnvironment): Promise<CheckOutcome> {
  const { url, authorization } = takeUrlCredentials(new URL(check.url))
  const headers = new Headers(check.headers)
  const secrets: string[] = authorization ? [authorization] : []
  for (const [name, variable] of Object.entries(check.headersFromEnv ?? {})) {
    const value = env.env[variable]
    if (value === undefined) {
      return {
        value: null,
        verdict: 'fail',
        message: `header ${name}: environment variable ${variable} is not set`
      }
    }
    const problem = headerValueProblem(value)
    if (problem) {
      return {
        value: null,
        verdict: 'fail',
        message: `header ${name}: environment variable ${variable} ${problem}`
      }
    }
    headers.set(name, value)
    secrets.push(value)
  }
  if (authorization && !headers.has('authorization')) headers.set('authorization', authorization)
  const where = `${check.method} ${url}`
  const timeout = AbortSignal.timeout(check.timeoutMs)
  const signal = env.signal ? AbortSignal.any([env.signal, timeout]) : timeout
  const keepToOrigin = [...headers.keys()].length > 0
  let status: number
  let body: string
  let redirect = ''
  try {
    const { response, notFollowedTo } = await fetchForCheck(
      url,
      { method: check.method, headers, signal },
      keepToOrigin
    )
    status = response.status
    body = await response.text()
    if (notFollowedTo)
      redirect = ` (redirect to ${notFollowedTo} not followed: the check's headers stay on its origin)`
  } catch (error) {
    return {
      value: null,
      verdict: 'fail',
      message: scrubSecrets(
        `${where}: ${describeRequestFailure(error, formatDuration(check.timeoutMs))}`,
        secrets
      )
    }
  }

  if (!check.expectStatus.includes(status)) {
    return {
      value: status,
      verdict: 'fail',
      message: `${where}: status ${status}${redirect}, expected one of ${statusList(check)}`
    }
  }
  if (check.expectBody !== undefined && !RE2JS.compile(check.expectBody).matcher(body).find()) {
    return {
      value: status,
      verdict: 'fail',
      message: `${where}: status ${status}, body does not match /${check.expectBody}/`
    }
  }
  return { value: status, verdict: 'pass', message: `${where}: status ${status}` }
}

export const httpCheck: CheckKindDefinition<HttpCheck> = {
  read(check, name) {
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
      timeoutMs: http.withDefault('timeout', readDuration({ positive: true }), DEFAULT_TIMEOUT_MS)
    }
  },
  evaluate: evaluateHttp,
  threshold: httpThreshold,
  secrets: check =>
    Object.entries(check.headersFromEnv ?? {}).map(([header, variable]) => ({
      field: `http.headersFromEnv.${header}`,
      variable,
      sent: 'as-is'
    }))
}
