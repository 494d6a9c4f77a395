/**
 * Redirects for `http` checks. `fetch` follows redirects to any host and drops only `authorization` and
 * `cookie` on the way, so a header such as `x-api-key` from `headersFromEnv` would reach whatever host the
 * checked service redirects to. A request that carries headers from the plan (or credentials from its URL)
 * therefore follows redirects within its own origin only (scheme, host and port); a redirect to another origin
 * is not followed, and its 3xx status is what the check sees.
 */

/** As many hops as `fetch` follows. */
const MAX_REDIRECTS = 20

export interface CheckRequest {
  method: string
  headers: Headers
  signal: AbortSignal
}

export interface CheckResponse {
  response: Response
  /** Set when a redirect to another origin was not followed: that origin. */
  notFollowedTo?: string
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status)
}

/**
 * `fetch` that never sends the plan's headers to another origin. Without plan headers (`keepToOrigin`
 * false) redirects are followed as `fetch` does.
 */
export async function fetchForCheck(
  url: URL,
  request: CheckRequest,
  keepToOrigin: boolean
): Promise<CheckResponse> {
  if (!keepToOrigin) return { response: await fetch(url, request) }
  let current = url
  let method = request.method
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { ...request, method, redirect: 'manual' })
    const location = response.headers.get('location')
    if (!isRedirect(response.status) || location === null) return { response }
    const target = new URL(location, current)
    if (target.origin !== url.origin) return { response, notFollowedTo: target.origin }
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`)
    await response.body?.cancel()
    // As fetch does: a 303 (and a 301/302 answering a POST) is followed with GET.
    if (response.status === 303 || (method === 'POST' && response.status !== 307 && response.status !== 308))
      method = method === 'HEAD' ? 'HEAD' : 'GET'
    current = target
  }
}
