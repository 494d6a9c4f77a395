/** metav1.Status errors, worded as the apiserver words them. */
import { qualifiedKind, qualifiedResource, type ResourceDef } from './resources.js'

export interface StatusCause {
  reason?: string
  message?: string
  field?: string
}
export interface Status {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, unknown>
  status: 'Failure' | 'Success'
  message?: string
  reason?: string
  details?: {
    name?: string
    group?: string
    kind?: string
    uid?: string
    causes?: StatusCause[]
    retryAfterSeconds?: number
  }
  code: number
}

export class ApiError extends Error {
  constructor(
    public readonly status: Status,
    public readonly headers: Record<string, string> = {}
  ) {
    super(status.message)
  }
  get code(): number {
    return this.status.code
  }
}

export function status(
  code: number,
  reason: string | undefined,
  message: string,
  details?: Status['details']
): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code }
  if (reason) s.reason = reason
  if (details) s.details = details
  // keep the apiserver's key order: ..., message, reason, details, code
  const { code: c, ...rest } = s
  return { ...rest, code: c }
}

function detailsOf(r: ResourceDef, name: string): Status['details'] {
  const d: Status['details'] = { name }
  if (r.group) d.group = r.group
  d.kind = r.plural
  return d
}

export const notFound = (r: ResourceDef, name: string) =>
  new ApiError(status(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, detailsOf(r, name)))

export const namespaceNotFound = (ns: string) =>
  new ApiError(status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }))

export const alreadyExists = (r: ResourceDef, name: string) =>
  new ApiError(
    status(409, 'AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, detailsOf(r, name))
  )

export const conflict = (r: ResourceDef, name: string, why: string) =>
  new ApiError(
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`,
      detailsOf(r, name)
    )
  )

export const MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again'

export interface FieldError {
  field: string
  /** e.g. FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueTooLong */
  type: string
  /** the part after "<field>: ", e.g. 'Invalid value: "x": must be ...' */
  detail: string
}

export function invalid(
  r: ResourceDef | { group: string; kind: string },
  name: string,
  errs: FieldError[]
): ApiError {
  const qk = 'builtin' in r ? qualifiedKind(r) : r.group ? `${r.kind}.${r.group}` : r.kind
  const parts = errs.map(e => (e.field ? `${e.field}: ${e.detail}` : e.detail))
  const msg = `${qk} "${name}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`
  const details: Status['details'] = { name }
  if (r.group) details.group = r.group
  details.kind = r.kind
  details.causes = errs.map(e => ({ reason: e.type, message: e.detail, field: e.field }))
  return new ApiError(status(422, 'Invalid', msg, details))
}

export const badRequest = (message: string) => new ApiError(status(400, 'BadRequest', message))

/** A validating admission webhook's denial (apiserver: 400, no reason, message prefixed with the webhook's name). */
export function webhookDenied(webhook: string, message: string): ApiError {
  return new ApiError(status(400, undefined, `admission webhook "${webhook}" denied the request: ${message}`))
}

export const unsupportedMediaType = (accepted: string[]) =>
  new ApiError(
    status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`
    )
  )

export const methodNotAllowed = (message: string) => new ApiError(status(405, 'MethodNotAllowed', message))

export function defaultStatusFor(code: number, retryAfterSeconds?: number): Status {
  const table: Record<number, [string | undefined, string]> = {
    400: ['BadRequest', 'the server rejected our request for an unknown reason'],
    401: ['Unauthorized', 'Unauthorized'],
    403: ['Forbidden', 'forbidden: the server does not allow this request'],
    404: ['NotFound', 'the server could not find the requested resource'],
    405: ['MethodNotAllowed', 'the server does not allow this method on the requested resource'],
    409: ['Conflict', 'the server reported a conflict'],
    410: ['Expired', 'the resource version requested is too old'],
    415: ['UnsupportedMediaType', 'the server does not support this media type'],
    422: ['Invalid', 'the server rejected our request due to an error in our request'],
    429: ['TooManyRequests', 'Too many requests, please try again later.'],
    500: ['InternalError', 'Internal error occurred: injected fault'],
    502: [undefined, 'the server responded with the status code 502 but did not return more information'],
    503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
    504: [
      'Timeout',
      'the server was unable to return a response in the time allotted, but may still be processing the request'
    ]
  }
  const [reason, message] = table[code] ?? [
    undefined,
    `the server responded with the status code ${code} but did not return more information`
  ]
  const details = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined
  return status(code, reason, message, details)
}
