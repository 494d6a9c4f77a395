/** Peak memory of the action process, and of kubectl for the same transition. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { startAction } from '../../testkit/run-action.js'
import { TRANSITION_PLAN } from '../fixtures.js'
import { execFileAsync } from '../runtime.js'
import { actionInputs, describeFailure, setUp } from './setup.js'

export interface MemoryResult {
  method: '/usr/bin/time -v' | 'process.resourceUsage().maxRSS'
  /** Peak resident set size of the action process for the transition, in KiB. */
  actionKiB: number[]
  /** The same for `kubectl get` and `kubectl patch` (with /usr/bin/time only). */
  kubectlGetKiB: number[]
  kubectlPatchKiB: number[]
}

function timeVMaxRss(file: string): number {
  const match = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(readFileSync(file, 'utf8'))
  if (!match) throw new Error(`no maximum resident set size in ${file}`)
  return Number(match[1])
}

/** Peak memory of the action process (advance 5% -> 50%), through a wrapper given to the runner as ACTION_NODE. */
export async function measureMemory(options: {
  runs: number
  latencyMs: number
  node: string
  kubectl?: string
}): Promise<MemoryResult> {
  const bench = await setUp(options)
  const timeV = existsSync('/usr/bin/time')
  const wrapper = path.join(bench.dir, 'node-wrapper.sh')
  const rssFile = path.join(bench.dir, 'rss')
  if (timeV) {
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/time -v -o "${rssFile}" "${options.node}" "$@"\n`, {
      mode: 0o755
    })
  } else {
    const hook = path.join(bench.dir, 'rss-hook.mjs')
    writeFileSync(
      hook,
      `import { writeFileSync } from 'node:fs'\nprocess.on('exit', () => writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)))\n`
    )
    writeFileSync(wrapper, `#!/bin/sh\nexec "${options.node}" --import "${hook}" "$@"\n`, { mode: 0o755 })
  }
  const result: MemoryResult = {
    method: timeV ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS',
    actionKiB: [],
    kubectlGetKiB: [],
    kubectlPatchKiB: []
  }
  const savedNode = process.env.ACTION_NODE
  try {
    process.env.ACTION_NODE = wrapper
    for (let run = 0; run < options.runs; run++) {
      bench.restore()
      rmSync(rssFile, { force: true })
      const outcome = await startAction({ inputs: actionInputs(bench.api, TRANSITION_PLAN) }).result
      if (outcome.exitCode !== 0) throw describeFailure('memory run', outcome)
      result.actionKiB.push(timeV ? timeVMaxRss(rssFile) : Number(readFileSync(rssFile, 'utf8')))
    }
  } finally {
    if (savedNode === undefined) delete process.env.ACTION_NODE
    else process.env.ACTION_NODE = savedNode
  }
  try {
    if (timeV && options.kubectl) {
      const kubeconfig = path.join(bench.dir, 'kubeconfig')
      bench.api.writeKubeconfig(kubeconfig)
      for (let run = 0; run < options.runs; run++) {
        const common = [
          '--kubeconfig',
          kubeconfig,
          '--cache-dir',
          mkdtempSync(path.join(bench.dir, 'c-')),
          '-n',
          'default'
        ]
        const timed = async (args: string[]) => {
          await execFileAsync('/usr/bin/time', ['-v', '-o', rssFile, options.kubectl!, ...common, ...args], {
            env: { ...process.env, HOME: bench.dir },
            maxBuffer: 64 * 1024 * 1024,
            timeout: 60_000
          })
          return timeVMaxRss(rssFile)
        }
        bench.restore()
        result.kubectlGetKiB.push(await timed(['get', 'virtualservice', 'reviews', '-o', 'json']))
        const patch = JSON.stringify({ metadata: { labels: { bench: String(run) } } })
        result.kubectlPatchKiB.push(
          await timed(['patch', 'virtualservice', 'reviews', '--type', 'merge', '-p', patch])
        )
      }
    }
    return result
  } finally {
    await bench.close()
  }
}
