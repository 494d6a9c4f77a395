/**
 * Sends the Kubernetes client's requests with Node's own `http`/`https` modules.
 *
 * The client's default transport is node-fetch 2, whose `Request` parses every URL with the legacy
 * `url.parse()`. Node 24 prints DEP0169 for that call from bundled code (the action's `dist/`), so each run
 * showed a deprecation warning users could do nothing about. This transport keeps what the client sets up
 * per request (the agent carrying the kubeconfig's CA, client certificate, proxy and TLS settings; headers;
 * the abort signal) and parses nothing but WHATWG URLs.
 */
import * as http from 'node:http'
import * as https from 'node:https'
import * as k8s from '@kubernetes/client-node'

type Configuration = ReturnType<typeof k8s.createConfiguration>

function bodyBytes(body: k8s.RequestBody): string | undefined {
  if (body === undefined || typeof body === 'string') return body
  if (body instanceof URLSearchParams) return body.toString()
  // Multipart bodies are only used by API calls this project never makes.
  throw new Error('internal: multipart request bodies are not supported')
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

export function sendWithNodeHttp(request: k8s.RequestContext): Promise<k8s.ResponseContext> {
  const url = new URL(request.getUrl())
  const send = url.protocol === 'http:' ? http.request : https.request
  const body = bodyBytes(request.getBody())
  const headers: Record<string, string> = { ...request.getHeaders() }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    const outgoing = send(
      url,
      { method: request.getHttpMethod(), headers, agent: request.getAgent(), signal: request.getSignal() },
      incoming => {
        const chunks: Buffer[] = []
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
        incoming.on('error', reject)
        incoming.on('end', () => {
          const bytes = Buffer.concat(chunks)
          resolve(
            new k8s.ResponseContext(incoming.statusCode ?? 0, flatHeaders(incoming.headers), {
              text: () => Promise.resolve(bytes.toString('utf8')),
              binary: () => Promise.resolve(bytes)
            })
          )
        })
      }
    )
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

const nodeHttpLibrary = k8s.wrapHttpLibrary({ send: sendWithNodeHttp })

function configurationFor(config: k8s.KubeConfig): Configuration {
  const cluster = config.getCurrentCluster()
  if (!cluster) throw new Error('kubeconfig: no current cluster')
  return k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: config },
    httpApi: nodeHttpLibrary
  })
}

/** What `KubeConfig.makeApiClient` builds, with this module's transport instead of node-fetch. */
export function makeApiClient<Api>(
  config: k8s.KubeConfig,
  apiClientType: new (configuration: Configuration) => Api
): Api {
  return new apiClientType(configurationFor(config))
}

/** `KubernetesObjectApi.makeApiClient` (the context's namespace as the default) with this module's transport. */
class ObjectApi extends k8s.KubernetesObjectApi {
  constructor(config: k8s.KubeConfig) {
    super(configurationFor(config))
    this.setDefaultNamespace(config)
  }
}

export function makeObjectApiClient(config: k8s.KubeConfig): k8s.KubernetesObjectApi {
  return new ObjectApi(config)
}
