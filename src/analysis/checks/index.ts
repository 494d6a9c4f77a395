import type { Check } from '../../plan/types.js'
import type { CheckEnvironment, Evaluation } from '../types.js'
import { compareThreshold, evaluateCompare } from './compare.js'
import { evaluateHttp, httpThreshold } from './http.js'
import { evaluateKubernetes, kubernetesThreshold } from './kubernetes.js'
import { errorMessage } from '../errors.js'
import type { CheckOutcome } from './outcome.js'
import { evaluatePrometheus, prometheusThreshold } from './prometheus.js'

/** Human-readable pass condition of a check, e.g. ">= 0.99" or "status in [200]". */
export function checkThreshold(check: Check): string {
  switch (check.kind) {
    case 'prometheus':
      return prometheusThreshold(check)
    case 'http':
      return httpThreshold(check)
    case 'kubernetes':
      return kubernetesThreshold(check)
    case 'compare':
      return compareThreshold(check)
  }
}

function evaluateKind(check: Check, env: CheckEnvironment): Promise<CheckOutcome> {
  switch (check.kind) {
    case 'prometheus':
      return evaluatePrometheus(check, env)
    case 'http':
      return evaluateHttp(check, env)
    case 'kubernetes':
      return evaluateKubernetes(check, env)
    case 'compare':
      return evaluateCompare(check, env)
  }
}

/** Evaluates one check once. Never throws: any error is a `fail` evaluation carrying the error's text. */
export async function evaluateCheck(check: Check, env: CheckEnvironment): Promise<Evaluation> {
  const at = env.now().toISOString()
  let outcome: CheckOutcome
  try {
    outcome = await evaluateKind(check, env)
  } catch (error) {
    outcome = { value: null, verdict: 'fail', message: errorMessage(error) }
  }
  return { check: check.name, kind: check.kind, at, threshold: checkThreshold(check), ...outcome }
}
