/**
 * The one module that talks to the Kubernetes API. Everything else sees plain objects and `KubeError`s.
 * Istio and Gateway resources go through CustomObjectsApi with known plurals, so no discovery round trips are
 * spent on the hot path; only `applyManifest` (arbitrary kinds) uses discovery.
 */
import * as k8s from '@kubernetes/client-node'
import { makeApiClient, makeObjectApiClient } from './http-library.js'
import { NO_RETRY, READ_RETRY, type RetryPolicy, withRetry } from './retry-helper.js'

export type Labels = Record<string, string>

export interface ObjectMeta {
  name: string
  namespace?: string
  resourceVersion?: string
  uid?: string
  generation?: number
  labels?: Labels
  annotations?: Record<string, string>
  [key: string]: unknown
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  spec?: Record<string, unknown>
  [key: string]: unknown
}

/** A custom resource type addressed by group/version/plural. */
export interface ResourceType {
  group: string
  version: string
  plural: string
  kind: string
  /** Older API versions to use when the cluster does not serve `version` (e.g. Istio before 1.22 has no v1). */
  fallbackVersions?: string[]
}

/** The apiserver's answer for an API version it does not serve, as opposed to a missing object. */
function isUnservedApi(error: unknown): boolean {
  return (
    error instanceof KubeError &&
    error.notFound &&
    error.message.includes('could not find the requested resource')
  )
}

export interface WriteOptions {
  dryRun: boolean
  /** Retry transient failures (only for writes that are safe to repeat, such as a rollback). */
  retry?: boolean
}

/** A failed API call, with the apiserver's Status fields when there was a response. */
export class KubeError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    readonly reason: string,
    readonly retryAfterMs?: number
  ) {
    super(message)
    this.name = 'KubeError'
  }
  get notFound(): boolean {
    return this.status === 404
  }
  get conflict(): boolean {
    return this.status === 409 && this.reason === 'Conflict'
  }
}

export interface KubeConnection {
  config: k8s.KubeConfig
  /** Credentials found in the kubeconfig, for masking in logs. */
  secrets: string[]
  server: string
}

/**
 * Loads a kubeconfig: the given YAML, else the usual places (KUBECONFIG, ~/.kube/config, in-cluster).
 * Throws a plain Error naming the problem; never echoes credentials.
 */
export function loadKubeConnection(kubeconfigYaml: string, context: string): KubeConnection {
  const config = new k8s.KubeConfig()
  try {
    if (kubeconfigYaml.trim()) config.loadFromString(kubeconfigYaml)
    else config.loadFromDefault()
  } catch (error) {
    throw new Error(`kubeconfig: could not be parsed (${firstLine(error)}); pass a valid kubeconfig YAML`, {
      cause: error
    })
  }
  if (context) {
    if (!config.getContextObject(context)) {
      const known = config.getContexts().map(c => c.name)
      throw new Error(
        `context: '${context}' is not in the kubeconfig (contexts: ${known.join(', ') || 'none'}); name one of its contexts`
      )
    }
    config.setCurrentContext(context)
  }
  const cluster = config.getCurrentCluster()
  if (!cluster?.server) {
    throw new Error(
      'kubeconfig: no current cluster with a server; set current-context in the kubeconfig, or name a context'
    )
  }
  const user = config.getCurrentUser()
  const secrets = [user?.token, user?.password, user?.keyData, user?.certData].filter(
    (value): value is string => typeof value === 'string' && value.length > 0
  )
  return { config, secrets, server: cluster.server }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]
}

/** How long one API call may take before it counts as a timeout. */
const CALL_TIMEOUT_MS = Number(process.env.ISTIO_CANARY_API_TIMEOUT_MS) || 30_000

export class KubeClient {
  private readonly custom: k8s.CustomObjectsApi
  private readonly core: k8s.CoreV1Api
  private readonly apps: k8s.AppsV1Api
  private objects?: k8s.KubernetesObjectApi
  /** API version each custom resource is served at, learnt on first use. */
  private readonly servedVersions = new Map<string, string>()

  constructor(
    private readonly connection: KubeConnection,
    private readonly onRetry: (message: string) => void = () => {}
  ) {
    this.custom = makeApiClient(connection.config, k8s.CustomObjectsApi)
    this.core = makeApiClient(connection.config, k8s.CoreV1Api)
    this.apps = makeApiClient(connection.config, k8s.AppsV1Api)
  }

  async namespaceExists(namespace: string): Promise<boolean> {
    try {
      await this.call(`get namespace ${namespace}`, READ_RETRY, () =>
        this.core.readNamespace({ name: namespace })
      )
      return true
    } catch (error) {
      if (error instanceof KubeError && error.notFound) return false
      throw error
    }
  }

  /** Runs a read at the version the cluster serves, trying the fallback versions until one is served. */
  private async atServedVersion<T>(type: ResourceType, read: (version: string) => Promise<T>): Promise<T> {
    const key = `${type.plural}.${type.group}`
    const known = this.servedVersions.get(key)
    if (known) return read(known)
    const candidates = [type.version, ...(type.fallbackVersions ?? [])]
    for (const [index, version] of candidates.entries()) {
      try {
        const result = await read(version)
        this.servedVersions.set(key, version)
        return result
      } catch (error) {
        if (!isUnservedApi(error) || index === candidates.length - 1) throw error
      }
    }
    throw new Error(`internal: no API version to try for ${key}`)
  }

  private servedVersion(type: ResourceType): string {
    return this.servedVersions.get(`${type.plural}.${type.group}`) ?? type.version
  }

  async getCustom(type: ResourceType, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return (await this.atServedVersion(type, version =>
        this.call(`get ${type.kind} ${namespace}/${name}`, READ_RETRY, () =>
          this.custom.getNamespacedCustomObject({ ...gvp(type), version, namespace, name })
        )
      )) as KubeObject
    } catch (error) {
      if (error instanceof KubeError && error.notFound && !isUnservedApi(error)) return undefined
      throw error
    }
  }

  async listCustom(type: ResourceType, namespace: string): Promise<KubeObject[]> {
    const list = (await this.atServedVersion(type, version =>
      this.call(`list ${type.kind} in ${namespace}`, READ_RETRY, () =>
        this.custom.listNamespacedCustomObject({ ...gvp(type), version, namespace })
      )
    )) as { items?: KubeObject[] }
    return list.items ?? []
  }

  async createCustom(type: ResourceType, object: KubeObject, options: WriteOptions): Promise<KubeObject> {
    const { namespace = '', name } = object.metadata
    return (await this.call(`create ${type.kind} ${namespace}/${name}`, writePolicy(options), () =>
      this.custom.createNamespacedCustomObject({
        ...gvp(type),
        version: this.servedVersion(type),
        namespace,
        body: { ...object, apiVersion: `${type.group}/${this.servedVersion(type)}` },
        ...dryRun(options)
      })
    )) as KubeObject
  }

  /** PUT with the object's metadata.resourceVersion: the apiserver refuses it if anyone wrote in between. */
  async replaceCustom(type: ResourceType, object: KubeObject, options: WriteOptions): Promise<KubeObject> {
    const { namespace = '', name } = object.metadata
    if (!object.metadata.resourceVersion)
      throw new Error(`internal: replace of ${name} without resourceVersion`)
    return (await this.call(`update ${type.kind} ${namespace}/${name}`, writePolicy(options), () =>
      this.custom.replaceNamespacedCustomObject({
        ...gvp(type),
        version: this.servedVersion(type),
        namespace,
        name,
        body: object,
        ...dryRun(options)
      })
    )) as KubeObject
  }

  /** Delete conditional on the resourceVersion that was read. */
  /**
   * Deletes the object as it was read. Already gone is done: a retry after a lost answer finds the object its
   * first attempt deleted.
   */
  async deleteCustom(type: ResourceType, object: KubeObject, options: WriteOptions): Promise<void> {
    const { namespace = '', name, resourceVersion } = object.metadata
    try {
      await this.call(`delete ${type.kind} ${namespace}/${name}`, writePolicy(options), () =>
        this.custom.deleteNamespacedCustomObject({
          ...gvp(type),
          version: this.servedVersion(type),
          namespace,
          name,
          body: { preconditions: { resourceVersion } },
          ...dryRun(options)
        })
      )
    } catch (error) {
      if (!(error instanceof KubeError && error.notFound && !isUnservedApi(error))) throw error
    }
  }

  async listDeployments(namespace: string): Promise<k8s.V1Deployment[]> {
    const list = await this.call(`list Deployments in ${namespace}`, READ_RETRY, () =>
      this.apps.listNamespacedDeployment({ namespace })
    )
    return list.items
  }

  /** The Services of a namespace (one request for every backend a router needs). */
  async listServices(namespace: string): Promise<k8s.V1Service[]> {
    const list = await this.call(`list Services in ${namespace}`, READ_RETRY, () =>
      this.core.listNamespacedService({ namespace })
    )
    return list.items
  }

  async listPods(namespace: string, labelSelector: string): Promise<k8s.V1Pod[]> {
    const list = await this.call(`list Pods in ${namespace}`, READ_RETRY, () =>
      this.core.listNamespacedPod({ namespace, labelSelector })
    )
    return list.items
  }

  async deleteDeployment(deployment: k8s.V1Deployment, options: WriteOptions): Promise<void> {
    const namespace = deployment.metadata?.namespace ?? ''
    const name = deployment.metadata?.name ?? ''
    await this.call(`delete Deployment ${namespace}/${name}`, writePolicy(options), () =>
      this.apps.deleteNamespacedDeployment({
        namespace,
        name,
        body: { preconditions: { resourceVersion: deployment.metadata?.resourceVersion } },
        ...dryRun(options)
      })
    )
  }

  /** Create or update any object (deploy manifests): read it, then create, or replace at the read resourceVersion. */
  async applyManifest(object: KubeObject, options: WriteOptions): Promise<'created' | 'updated'> {
    this.objects ??= makeObjectApiClient(this.connection.config)
    const api = this.objects
    const label = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`
    const current = await this.call(`get ${label}`, READ_RETRY, () => api.read(object as never)).catch(
      error => {
        if (error instanceof KubeError && error.notFound) return undefined
        throw error
      }
    )
    const dry = options.dryRun ? 'All' : undefined
    if (!current) {
      await this.call(`create ${label}`, NO_RETRY, () => api.create(object as never, undefined, dry))
      return 'created'
    }
    const body = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: current.metadata?.resourceVersion }
    }
    await this.call(`update ${label}`, NO_RETRY, () => api.replace(body as never, undefined, dry))
    return 'updated'
  }

  private call<T>(what: string, policy: RetryPolicy, action: () => Promise<T>): Promise<T> {
    return withRetry(
      policy,
      error => {
        const status = error instanceof KubeError ? error.status : 0
        return {
          transient:
            (status === 0 && (error as KubeError).reason !== 'Untrusted') || status === 429 || status >= 500,
          retryAfterMs: error instanceof KubeError ? error.retryAfterMs : undefined
        }
      },
      () =>
        withTimeout(what, action).catch(error =>
          Promise.reject(toKubeError(what, error, this.connection.server))
        ),
      (error, attempt, delayMs) =>
        this.onRetry(`${firstLine(error)}; retrying in ${delayMs} ms (attempt ${attempt + 1})`)
    )
  }
}

function gvp(type: ResourceType): { group: string; version: string; plural: string } {
  return { group: type.group, version: type.version, plural: type.plural }
}

function dryRun(options: WriteOptions): { dryRun?: string } {
  return options.dryRun ? { dryRun: 'All' } : {}
}

function writePolicy(options: WriteOptions): RetryPolicy {
  return options.retry ? READ_RETRY : NO_RETRY
}

async function withTimeout<T>(what: string, action: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KubeError(`${what}: no answer within ${CALL_TIMEOUT_MS / 1000}s`, 0, 'Timeout')),
      CALL_TIMEOUT_MS
    )
  })
  try {
    return await Promise.race([action(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

interface StatusBody {
  kind?: string
  message?: string
  reason?: string
  code?: number
}

/** Turns client-node's exceptions into one KubeError with the apiserver's own message. */
export function toKubeError(what: string, error: unknown, server: string): KubeError {
  if (error instanceof KubeError) return error
  if (error instanceof k8s.ApiException) {
    const status = parseStatus(error.body)
    const reason = status?.reason ?? httpReason(error.code)
    const raw = firstLine(error.message)
    // client-node's own text ("HTTP-Code: 401 Message: ...") when the answer had no Status: say the reason.
    const message = status?.message ?? (raw.startsWith('HTTP-Code:') ? reason : raw)
    const retryAfter = Number(error.headers?.['retry-after'])
    return new KubeError(
      `${what}: ${message} (${reason}, HTTP ${error.code})${HINTS[error.code] ?? ''}`,
      error.code,
      reason,
      Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined
    )
  }
  const code =
    (error as { code?: string; cause?: { code?: string } })?.code ??
    (error as { cause?: { code?: string } })?.cause?.code
  const detail = code ? `${code}` : firstLine(error)
  if (code && TLS_ERROR.test(code)) {
    return new KubeError(
      `${what}: the Kubernetes API at ${server} presented a certificate the kubeconfig does not trust (${detail}); check certificate-authority-data (or the server address) in the kubeconfig`,
      0,
      'Untrusted'
    )
  }
  return new KubeError(`${what}: cannot reach the Kubernetes API at ${server} (${detail})`, 0, 'Unreachable')
}

/** Node's certificate verification errors: a wrong CA or server name, not a transient failure. */
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|ERR_TLS/

/** What to do about an answer that no retry can change. */
const HINTS: Record<number, string> = {
  401: "; the API server rejected the kubeconfig's credentials: the token or client certificate is wrong or expired, renew it",
  403: "; grant that permission to the kubeconfig's user (an RBAC Role and RoleBinding)"
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody
    } catch {
      return undefined
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusBody) : undefined
}

function httpReason(code: number): string {
  if (code === 401) return 'Unauthorized'
  if (code === 403) return 'Forbidden'
  if (code === 404) return 'NotFound'
  if (code === 409) return 'Conflict'
  if (code === 429) return 'TooManyRequests'
  return code >= 500 ? 'InternalError' : 'Error'
}
