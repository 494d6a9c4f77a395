/** Node's own start, the floor under the action's cold start. */
import { performance } from 'node:perf_hooks'
import { execFileAsync } from '../runtime.js'

/** Spawn to exit of `node -e 0`: the floor under any cold start. */
export async function measureNodeStart(options: { runs: number; node: string }): Promise<number[]> {
  const samples: number[] = []
  for (let run = 0; run < options.runs; run++) {
    const started = performance.now()
    await execFileAsync(options.node, ['-e', '0'], {
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 30_000
    })
    samples.push(performance.now() - started)
  }
  return samples
}
