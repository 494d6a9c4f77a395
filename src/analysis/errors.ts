interface ErrorLike {
  name?: unknown
  message?: unknown
  code?: unknown
  cause?: unknown
}

/** Errors from fetch may come from another realm (test sandboxes), so `instanceof Error` is not reliable. */
function asErrorLike(value: unknown): ErrorLike | undefined {
  return typeof value === 'object' && value !== null ? (value as ErrorLike) : undefined
}

/**
 * Why a fetch failed, in one line. Node's fetch says only "fetch failed" and keeps the reason
 * (ECONNREFUSED, a certificate problem…) in its cause.
 */
export function describeRequestFailure(error: unknown, timeoutText: string): string {
  const failure = asErrorLike(error)
  if (!failure) return String(error)
  if (failure.name === 'TimeoutError') return `no answer within ${timeoutText}`
  if (failure.name === 'AbortError') return 'cancelled'
  const cause = asErrorLike(failure.cause)
  const reason = cause ? cause.message || cause.code : undefined
  return reason ? String(reason) : String(failure.message ?? error)
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  const message = asErrorLike(error)?.message
  return typeof message === 'string' ? message : String(error)
}
