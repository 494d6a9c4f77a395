/** The compare check's statistics on large samples, timed in a process of their own (bench/mwu.ts). */
import path from 'node:path'
import { PROJECT_ROOT } from '../../testkit/run-action.js'
import type { MwuTimings } from '../mwu.js'
import { execFileAsync } from '../runtime.js'

/** Times the compare check's verdict on 10,000 + 10,000 samples in a fresh process on `node`. */
export async function measureMwu(options: { runs: number; node: string }): Promise<MwuTimings> {
  const { stdout } = await execFileAsync(
    options.node,
    [
      '--import',
      'tsx',
      path.join(PROJECT_ROOT, 'bench', 'mwu.ts'),
      '--runs',
      String(Math.max(5, options.runs * 3))
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 }
  )
  return JSON.parse(stdout) as MwuTimings
}
