import type { KubernetesCheck } from '../../plan/types.js'
import type { CheckEnvironment } from '../types.js'
import type { CheckOutcome } from './outcome.js'

export function kubernetesThreshold(check: KubernetesCheck): string {
  return `available, restarts <= ${check.maxRestarts}`
}

export async function evaluateKubernetes(
  check: KubernetesCheck,
  env: CheckEnvironment
): Promise<CheckOutcome> {
  const health = await env.readCanaryPods()
  const value = health.maxRestarts
  if (health.deployments.length === 0) {
    return { value, verdict: 'fail', message: 'no canary Deployment found' }
  }
  const unavailable = health.deployments.filter(deployment => !deployment.available)
  if (unavailable.length > 0) {
    const which = unavailable.map(({ name, reason }) => (reason ? `${name} (${reason})` : name)).join(', ')
    return { value, verdict: 'fail', message: `not available: ${which}` }
  }
  const names = health.deployments.map(deployment => deployment.name).join(', ')
  if (value > check.maxRestarts) {
    return {
      value,
      verdict: 'fail',
      message: `${names}: a container restarted ${value} times (at most ${check.maxRestarts})`
    }
  }
  return { value, verdict: 'pass', message: `${names} available, ${value} restarts` }
}
