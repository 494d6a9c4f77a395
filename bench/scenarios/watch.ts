/** The Kubernetes API requests the watch of a stage makes, per evaluation. */
import { startAction } from '../../testkit/run-action.js'
import { watchPlan } from '../fixtures.js'
import { actionInputs, describeFailure, isWrite, requestLabel, setUp } from './setup.js'

export interface WatchResult {
  evaluations: number
  /** Requests between the stage write and the read that marks the stage passed. */
  requests: number
  writes: number
  perEvaluation: number
  /** Distinct requests of one evaluation. */
  kinds: string[]
}

/** A `kubernetes` check every 500 ms over a 2 s bake: the requests the watch makes, per evaluation. */
export async function measureWatchRequests(options: {
  latencyMs: number
  evaluations?: number
}): Promise<WatchResult> {
  const bench = await setUp(options)
  try {
    bench.restore()
    bench.api.clearRequests()
    const outcome = await startAction({
      inputs: actionInputs(bench.api, watchPlan(options.evaluations ?? 4))
    }).result
    if (outcome.exitCode !== 0 || outcome.outputs.stage !== '50%') throw describeFailure('watch', outcome)
    const evaluations = ((outcome.report?.evaluations as unknown[] | undefined) ?? []).length
    const requests = [...bench.api.requests]
    const stageWrite = requests.findIndex(isWrite)
    let passRead = requests.length - 1
    while (
      passRead > stageWrite &&
      !(requests[passRead].verb === 'get' && requests[passRead].resource === 'virtualservices')
    )
      passRead--
    const window = requests.slice(stageWrite + 1, passRead)
    if (stageWrite < 0 || evaluations === 0)
      throw describeFailure('watch: no stage write or no evaluation', outcome)
    return {
      evaluations,
      requests: window.length,
      writes: window.filter(isWrite).length,
      perEvaluation: window.length / evaluations,
      kinds: [...new Set(window.map(requestLabel))]
    }
  } finally {
    await bench.close()
  }
}
