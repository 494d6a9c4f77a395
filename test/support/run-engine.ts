/**
 * Runs one command of the engine in the test's own process, through its entry point (`createRelease`), for tests
 * about what a run does to the cluster rather than about the action's process: a run costs no process start.
 * What the action adds around the engine (inputs, outputs, reports, signals, the post step) is tested by running
 * it as the runner does (testkit/run-action.ts).
 */
import os from 'node:os'
import { createRelease, type EngineCommand } from '../../src/engine/index.js'
import { loadPlan } from '../../src/engine/plan-loader.js'
import { formatProgress } from '../../src/analysis/progress.js'
import { buildRunReport } from '../../src/report/build-report.js'
import type { RunReport } from '../../src/report/types.js'
import type { KubeApi } from '../../testkit/kube-api/index.js'

export interface EngineRunOptions {
  /** The plan YAML, or the path of a plan file in the workspace. */
  plan: string
  kubeconfig: string
  command: EngineCommand
  workspace: string
  /** Default: the plan's canary. */
  revision?: string
  dryRun?: boolean
}

export interface EngineRun {
  /** The run's report; undefined when the run stopped with an error. */
  report?: RunReport
  /** The message of the error that stopped the run. */
  error?: string
  /** Every line the engine logged, in order (group titles are info lines). */
  log: { level: 'info' | 'warning' | 'debug'; message: string }[]
}

export async function runEngine(options: EngineRunOptions): Promise<EngineRun> {
  const log: EngineRun['log'] = []
  try {
    const { plan } = loadPlan(options.plan, options.workspace)
    const release = createRelease({
      plan,
      revision: options.revision ?? plan.canary,
      dryRun: options.dryRun ?? false,
      kubeconfig: options.kubeconfig,
      context: '',
      run: {},
      log: {
        info: message => void log.push({ level: 'info', message }),
        warning: message => void log.push({ level: 'warning', message }),
        debug: message => void log.push({ level: 'debug', message }),
        group: (title, body) => {
          log.push({ level: 'info', message: title })
          return body()
        },
        progress: event => void log.push({ level: 'info', message: formatProgress(event) })
      },
      signal: new AbortController().signal,
      workspace: options.workspace,
      env: {},
      maskSecret: () => {}
    })
    return { report: buildRunReport(await release.run(options.command)), log }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error), log }
  }
}

/** The lines the engine logged at a level. */
export function logged(run: EngineRun, level: EngineRun['log'][number]['level']): string[] {
  return run.log.filter(line => line.level === level).map(line => line.message)
}

/**
 * A run a test needs only to bring the release to where its own check starts (the runs it asserts on go through
 * the action): the engine in this process, so it costs no process start. Throws where the action would exit 1: the run
 * stopped with an error, or checks it watched failed.
 */
export async function setupRun(
  api: KubeApi,
  options: { plan: string; command?: EngineCommand; revision?: string }
): Promise<RunReport> {
  // A process start gives the simulated Deployment controller time to observe what the test seeded; here nothing
  // does, so wait for it as a workflow waits for its deploy step.
  await api.deploymentsAvailable()
  const run = await runEngine({
    ...options,
    command: options.command ?? 'advance',
    kubeconfig: api.kubeconfig(),
    workspace: os.tmpdir()
  })
  if (!run.report || run.report.failed)
    throw new Error(
      `the setup run (${options.command ?? 'advance'}) failed: ${run.error ?? 'its checks failed'}`
    )
  return run.report
}
