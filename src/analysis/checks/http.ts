import { RE2JS } from 're2js'
import type { HttpCheck } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import { formatDuration } from '../format.js'
import { describeRequestFailure } from '../errors.js'
import { takeUrlCredentials } from '../url-credentials.js'
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
  for (const [name, variable] of Object.entries(check.headersFromEnv ?? {})) {
    const value = env.env[variable]
    if (value === undefined) {
      return {
        value: null,
        verdict: 'fail',
        message: `header ${name}: environment variable ${variable} is not set`
      }
    }
    headers.set(name, value)
  }
  if (authorization && !headers.has('authorization')) headers.set('authorization', authorization)
  const where = `${check.method} ${url}`
  const timeout = AbortSignal.timeout(check.timeoutMs)
  const signal = env.signal ? AbortSignal.any([env.signal, timeout]) : timeout
  let status: number
  let body: string
  try {
    const response = await fetch(url, { method: check.method, headers, signal })
    status = response.status
    body = await response.text()
  } catch (error) {
    return {
      value: null,
      verdict: 'fail',
      message: `${where}: ${describeRequestFailure(error, formatDuration(check.timeoutMs))}`
    }
  }

  if (!check.expectStatus.includes(status)) {
    return {
      value: status,
      verdict: 'fail',
      message: `${where}: status ${status}, expected one of ${statusList(check)}`
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
