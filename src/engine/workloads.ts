/** The canary and stable Deployments: finding them by pod labels, their health, waiting, deleting. */
import type { V1Deployment } from '@kubernetes/client-node'
import type { CanaryPodsHealth } from '../analysis/types.js'
import type { KubeClient, Labels } from '../kube/kube-client.js'

export function selectorText(selector: Labels): string {
  return Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .join(',')
}

/** Whether labels carry every key and value of the selector. */
export function selects(selector: Labels, labels: Labels | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value)
}

/** The labels of a Deployment's pods (its template's, not the Deployment's own). */
export function podLabels(deployment: V1Deployment): Labels {
  return deployment.spec?.template?.metadata?.labels ?? {}
}

/** Deployments whose pods carry every label of the selector. */
export async function findDeployments(
  kube: KubeClient,
  namespace: string,
  selector: Labels
): Promise<V1Deployment[]> {
  const all = await kube.listDeployments(namespace)
  return all.filter(deployment => selects(selector, podLabels(deployment)))
}

/**
 * Ready to take traffic: Available, the controller has seen the latest spec, and at least one replica (and
 * every desired one) is updated and available. A Deployment scaled to 0 reports Available=True but serves nothing.
 */
export function availability(deployment: V1Deployment): { available: boolean; reason?: string } {
  const status = deployment.status ?? {}
  const wanted = deployment.spec?.replicas ?? 1
  if (wanted === 0) return { available: false, reason: 'scaled to 0 replicas' }
  const condition = status.conditions?.find(c => c.type === 'Available')
  if ((status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) {
    return { available: false, reason: 'rollout not yet observed by the controller' }
  }
  if (condition?.status !== 'True') {
    const detail = [condition?.reason, condition?.message].filter(Boolean).join(': ')
    return {
      available: false,
      reason: `Available=${condition?.status ?? 'Unknown'}${detail ? ` (${detail})` : ''}`
    }
  }
  if ((status.updatedReplicas ?? 0) < wanted) {
    return { available: false, reason: `${status.updatedReplicas ?? 0}/${wanted} replicas updated` }
  }
  if ((status.availableReplicas ?? 0) < wanted) {
    return { available: false, reason: `${status.availableReplicas ?? 0}/${wanted} replicas available` }
  }
  return { available: true }
}

export async function readPodsHealth(
  kube: KubeClient,
  namespace: string,
  selector: Labels
): Promise<CanaryPodsHealth> {
  const [deployments, pods] = await Promise.all([
    findDeployments(kube, namespace, selector),
    kube.listPods(namespace, selectorText(selector))
  ])
  const restarts = pods.flatMap(pod => (pod.status?.containerStatuses ?? []).map(c => c.restartCount ?? 0))
  return {
    deployments: deployments.map(d => ({ name: d.metadata?.name ?? '', ...availability(d) })),
    maxRestarts: Math.max(0, ...restarts)
  }
}

/** Describes why the version's Deployments are not ready, or undefined when they all are (and there is one). */
export function unreadyReason(
  deployments: V1Deployment[],
  namespace: string,
  selector: Labels
): string | undefined {
  if (deployments.length === 0)
    return `no Deployment in namespace ${namespace} has pods labelled ${selectorText(selector)}`
  const unready = deployments
    .map(d => ({ name: d.metadata?.name, ...availability(d) }))
    .filter(d => !d.available)
  return unready.length
    ? unready.map(d => `Deployment ${namespace}/${d.name}: ${d.reason}`).join('; ')
    : undefined
}

export async function waitUntilAvailable(
  kube: KubeClient,
  namespace: string,
  selector: Labels,
  timeoutMs: number,
  signal: AbortSignal
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const reason = unreadyReason(await findDeployments(kube, namespace, selector), namespace, selector)
    if (!reason || Date.now() >= deadline || signal.aborted) return reason
    await new Promise(resolve => setTimeout(resolve, Math.min(1000, Math.max(50, deadline - Date.now()))))
  }
}
