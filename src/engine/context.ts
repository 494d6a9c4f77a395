import type { ProgressEvent } from '../analysis/types.js'
import type { KubeClient } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'
import type { RouterDefinition } from '../routers/router.js'

/** Where a run's log goes: the action maps it to @actions/core, the CLI to the terminal. */
export interface Logger {
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
  group<T>(title: string, body: () => Promise<T>): Promise<T>
  /** One evaluation of the watch. */
  progress(event: ProgressEvent): void
}

export interface EngineContext {
  plan: Plan
  revision: string
  dryRun: boolean
  kube: KubeClient
  router: RouterDefinition
  run: { id?: string; url?: string }
  log: Logger
  /** Aborted on SIGINT/SIGTERM: the watch stops and onCancel applies. */
  signal: AbortSignal
  workspace: string
  env: NodeJS.ProcessEnv
  /** Told when a watch of an applied stage starts and ends, so the post step can finish a killed run. */
  onWatch?: (watching: { revision: string; stageIndex: number } | undefined) => void
  /** Who asked (a `/canary` commenter), for the history. */
  actor?: string
}

/** A refusal or failed precondition: the message is the whole story, no stack needed. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ReleaseError'
  }
}
