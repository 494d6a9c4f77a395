/** Builds an engine for one run; shared by the action and the command-line interface. */
import { assertCredentialValues, credentialSecrets } from '../analysis/checks/index.js'
import { KubeClient, loadKubeConnection } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'
import { routerFor } from '../routers/registry.js'
import type { EngineContext, Logger } from './context.js'
import { Release } from './release.js'

export { Release } from './release.js'
export { COMMANDS, ENGINE_COMMANDS, type EngineCommand } from './commands.js'
export { ReleaseError, type EngineContext, type Logger } from './context.js'
export type { ReleaseResult } from './result.js'
export { loadPlan, parsePlan } from './plan-loader.js'

export interface EngineOptions {
  plan: Plan
  revision: string
  dryRun: boolean
  kubeconfig: string
  context: string
  run: { id?: string; url?: string }
  log: Logger
  signal: AbortSignal
  workspace: string
  env: NodeJS.ProcessEnv
  onWatch?: EngineContext['onWatch']
  actor?: string
  /** Called with every credential found (kubeconfig token, keys, check secrets), to mask them before anything is logged. */
  maskSecret: (secret: string) => void
}

export function createRelease(options: EngineOptions): Release {
  const { kubeconfig, context, maskSecret, ...rest } = options
  const connection = loadKubeConnection(kubeconfig, context)
  connection.secrets.forEach(maskSecret)
  credentialSecrets(options.plan.analysis.checks, options.env).forEach(maskSecret)
  assertCredentialValues(options.plan.analysis.checks, options.env)
  const kube = new KubeClient(connection, message => options.log.warning(`Kubernetes API: ${message}`))
  return new Release({ ...rest, kube, router: routerFor(options.plan.router) })
}
