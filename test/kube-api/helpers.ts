/** Helpers for the kube-api double's own tests: raw HTTPS calls that trust the double's CA, error decoding. */
import { request } from 'node:https'
import type { KubeApi } from '../../testkit/kube-api/index.js'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: () => Record<string, unknown>
}

/** One HTTPS request to the double (no kubeconfig involved); `token: null` sends no Authorization header. */
export function raw(
  api: KubeApi,
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; contentType?: string; accept?: string } = {}
): Promise<RawResponse> {
  const url = new URL(path, api.url)
  const body =
    opts.body === undefined
      ? undefined
      : typeof opts.body === 'string'
        ? opts.body
        : JSON.stringify(opts.body)
  const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' }
  const token = opts.token === undefined ? api.token : opts.token
  if (token !== null) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json'
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers, ca: Buffer.from(api.caData, 'base64').toString('utf8'), agent: false },
      res => {
        const chunks: Buffer[] = []
        res.on('data', c => chunks.push(c as Buffer))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>
          })
        })
      }
    )
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** Runs `fn`, expects it to throw a client-node ApiException, returns its code, parsed Status body and headers. */
export async function apiError(
  fn: () => Promise<unknown>
): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await fn()
  } catch (e) {
    const err = e as { code?: number; body?: unknown; headers?: Record<string, string> }
    if (typeof err.code !== 'number') throw e
    const body =
      typeof err.body === 'string'
        ? (JSON.parse(err.body) as Record<string, unknown>)
        : (err.body as Record<string, unknown>)
    return { code: err.code, body, headers: err.headers ?? {} }
  }
  throw new Error('expected the call to fail')
}
