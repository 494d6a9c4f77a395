import { RE2JS } from 're2js'
import type { HttpCheck } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import { formatDuration } from '../format.js'
import { describeRequestFailure } from '../errors.js'
import { takeUrlCredentials } from '../url-credentials.js'
import { fetchForCheck } from '../http-redirects.js'
import { scrubSecrets } from '../../secret-scrubber.js'
import { headerValueProblem } from '../credentials.js'
import type { CheckOutcome } from './outcome.js'

function statusList(check: HttpCheck): string {
  return `[${check.expectStatus.join(', ')}]`
}

export function httpThreshold(check: HttpCheck): string {
  const status = `status in ${statusList(check)}`
  return check.expectBody === undefined ? status : `${status}, body ~ /${check.expectBody}/`
}

export async function evaluateHttp(check: HttpCheck, env: CheckEnvironment): Promise<CheckOutcome> {
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
