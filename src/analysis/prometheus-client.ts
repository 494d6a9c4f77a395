import { formatDuration } from '../common/duration.js'
import { describeRequestFailure } from './errors.js'
import { takeUrlCredentials } from './url-credentials.js'
import { scrubSecrets } from '../common/secret-scrubber.js'

/** Where a Prometheus server is and how to authenticate; credentials are read from the named env vars. */
export interface PrometheusSource {
  url: string
  /** Name of an environment variable holding a bearer token. */
  bearerTokenEnv?: string
  /** Names of environment variables holding basic-auth credentials. */
  usernameEnv?: string
  passwordEnv?: string
}

/** One series of an instant query (a scalar result is one sample without labels). */
export interface InstantSample {
  metric: Record<string, string>
  /** Seconds since the epoch. */
  timestamp: number
  value: number
}

/** One series of a range query. */
export interface RangeSeries {
  metric: Record<string, string>
  /** [seconds since the epoch, value] */
  values: [number, number][]
}

interface RequestOptions {
  signal?: AbortSignal
  /** Where the credential variables named in the source are looked up. */
  env: NodeJS.ProcessEnv
  /** Gives up on a hanging server; default 30s. */
  timeoutMs?: number
}

export interface InstantQueryOptions extends RequestOptions {
  time?: Date
}

export interface RangeQueryOptions extends RequestOptions {
  start: Date
  end: Date
  stepSeconds: number
}

const DEFAULT_TIMEOUT_MS = 30_000

type PrometheusSampleValue = [number, string]

interface PrometheusResponse {
  status: 'success' | 'error'
  errorType?: string
  error?: string
  data?: {
    resultType: 'vector' | 'matrix' | 'scalar' | 'string'
    result: unknown
  }
}

/** Prometheus writes special floats as "NaN", "+Inf" and "-Inf", which Number() does not all read. */
function parseSampleValue(text: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

function requiredEnv(env: NodeJS.ProcessEnv, name: string, field: string): string {
  const value = env[name]
  if (value === undefined || value === '') {
    throw new Error(`prometheus: environment variable ${name} (named by ${field}) is not set`)
  }
  return value
}

function authorizationHeader(source: PrometheusSource, env: NodeJS.ProcessEnv): string | undefined {
  if (source.bearerTokenEnv) return `Bearer ${requiredEnv(env, source.bearerTokenEnv, 'bearerTokenEnv')}`
  if (source.usernameEnv || source.passwordEnv) {
    const username = source.usernameEnv ? requiredEnv(env, source.usernameEnv, 'usernameEnv') : ''
    const password = source.passwordEnv ? requiredEnv(env, source.passwordEnv, 'passwordEnv') : ''
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  }
  return undefined
}

/** The endpoint URL and its headers; explicit credentials win over those written in the URL. */
function prepareRequest(source: PrometheusSource, path: string, env: NodeJS.ProcessEnv) {
  const endpoint = new URL(path, source.url.endsWith('/') ? source.url : `${source.url}/`)
  const { url, authorization: urlAuthorization } = takeUrlCredentials(endpoint)
  const authorization = authorizationHeader(source, env) ?? urlAuthorization
  const headers: Record<string, string> = { accept: 'application/json' }
  if (authorization) headers.authorization = authorization
  return { url, headers }
}

/** The secrets an Authorization header carries: the header, its credential, and basic auth's user and password. */
function credentialsOf(authorization: string | undefined): string[] {
  if (!authorization) return []
  const credential = authorization.replace(/^\S+\s+/, '')
  const basic = authorization.startsWith('Basic ')
    ? Buffer.from(credential, 'base64').toString('utf8').split(':')
    : []
  return [authorization, credential, ...basic].filter(secret => secret.length >= 4)
}

async function post(
  source: PrometheusSource,
  path: string,
  form: Record<string, string>,
  options: RequestOptions
): Promise<PrometheusResponse['data']> {
  const { url, headers } = prepareRequest(source, path, options.env)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const endpoint = `${url.origin}${url.pathname}`
  // A server may echo the credentials it refused, and the HTTP client quotes a header it cannot send: no
  // message may carry them, not even cut short, so redaction comes before any truncation.
  const redact = (message: string) => scrubSecrets(message, credentialsOf(headers.authorization))

  let answer: { response: Response; text: string } | { failure: string }
  try {
    const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form), signal })
    answer = { response, text: await response.text() }
  } catch (error) {
    answer = { failure: describeRequestFailure(error, formatDuration(timeoutMs)) }
  }
  // Not chained to the caught error: the HTTP client's own message may quote a header value.
  if ('failure' in answer) throw new Error(redact(`prometheus: ${endpoint}: ${answer.failure}`))
  const { response, text } = answer

  let body: PrometheusResponse | undefined
  try {
    body = JSON.parse(text) as PrometheusResponse
  } catch {
    body = undefined
  }
  if (body?.status === 'error')
    throw new Error(redact(`prometheus: ${body.errorType ?? 'error'}: ${body.error}`))
  if (!response.ok || body?.status !== 'success' || !body.data) {
    const excerpt = redact(text.trim()).slice(0, 200)
    throw new Error(
      `prometheus: ${endpoint}: HTTP ${response.status} ${response.statusText}${excerpt ? `: ${excerpt}` : ''}`
    )
  }
  return body.data
}

/** Evaluates `promql` at one instant (default: now) through `/api/v1/query`. */
export async function instantQuery(
  source: PrometheusSource,
  promql: string,
  options: InstantQueryOptions
): Promise<InstantSample[]> {
  const form: Record<string, string> = { query: promql }
  if (options.time) form.time = String(options.time.getTime() / 1000)
  const data = await post(source, 'api/v1/query', form, options)
  if (data?.resultType === 'scalar') {
    const [timestamp, value] = data.result as PrometheusSampleValue
    return [{ metric: {}, timestamp, value: parseSampleValue(value) }]
  }
  if (data?.resultType !== 'vector') {
    throw new Error(`prometheus: expected an instant vector or a scalar, got a ${data?.resultType}`)
  }
  return (data.result as { metric: Record<string, string>; value: PrometheusSampleValue }[]).map(series => ({
    metric: series.metric,
    timestamp: series.value[0],
    value: parseSampleValue(series.value[1])
  }))
}

/** Evaluates `promql` at every step of [start, end] through `/api/v1/query_range`. */
export async function rangeQuery(
  source: PrometheusSource,
  promql: string,
  options: RangeQueryOptions
): Promise<RangeSeries[]> {
  const form = {
    query: promql,
    start: String(options.start.getTime() / 1000),
    end: String(options.end.getTime() / 1000),
    step: String(options.stepSeconds)
  }
  const data = await post(source, 'api/v1/query_range', form, options)
  if (data?.resultType !== 'matrix')
    throw new Error(`prometheus: expected a range vector, got a ${data?.resultType}`)
  return (data.result as { metric: Record<string, string>; values: PrometheusSampleValue[] }[]).map(
    series => ({
      metric: series.metric,
      values: series.values.map(([time, value]): [number, number] => [time, parseSampleValue(value)])
    })
  )
}
