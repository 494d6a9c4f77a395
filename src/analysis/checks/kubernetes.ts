import { readInteger } from '../../plan/plan-yaml.js'
import type { CheckBase } from '../../plan/types.js'
import type { CheckKindDefinition } from './check-kind.js'

export interface KubernetesCheck extends CheckBase {
  kind: 'kubernetes'
  maxRestarts: number
}

export const kubernetesCheck: CheckKindDefinition<KubernetesCheck> = {
  read(check, name) {
    const kubernetes = check.mapping('kubernetes', ['maxRestarts'], { allowEmpty: true })
    return { kind: 'kubernetes', name, maxRestarts: kubernetes.withDefault('maxRestarts', readInteger(0), 0) }
  },
  threshold: check => `available, restarts <= ${check.maxRestarts}`,
  secrets: () => [],
  async evaluate(check, env) {
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
}
