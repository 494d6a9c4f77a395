/**
 * Measures an HTTPRoute stage transition through the action against the Kubernetes API double: the API requests
 * it makes (reads and the write, then the status reads while it waits for the Gateway API controller) and how
 * long it waits for acceptance, for several controller delays.
 *
 *   npx tsx scripts/measure-acceptance.ts [--delays 10,100,250,500,1000] [--runs 3]
 *
 * Each sample is a fresh double seeded with Bookinfo's reviews route; the first run pins and applies the
 * test-user stage, the measured run is the 5% stage (ladder of testkit/bookinfo.ts, nothing to watch).
 */
import { bookinfoObjects, HTTPROUTE_PLAN } from '../testkit/bookinfo.js'
import { startKubeApi } from '../testkit/kube-api/index.js'
import { runAction } from '../testkit/run-action.js'

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : process.argv[at + 1]
}

const delays = option('delays', '10,100,250,500,1000').split(',').map(Number)
const runs = Number(option('runs', '3'))

interface Sample {
  requests: string[]
  waitedMs: number
  reads: number
}

async function sample(delayMs: number): Promise<Sample> {
  const api = await startKubeApi({ routeStatusDelayMs: delayMs })
  try {
    api.seed(bookinfoObjects({ router: 'HTTPRoute' }))
    const inputs = { plan: HTTPROUTE_PLAN, kubeconfig: api.kubeconfig(), report: 'none' }
    const first = await runAction({ inputs })
    if (first.outputs.stage !== 'test-user') throw new Error(`setup run failed:\n${first.stdout}`)
    api.clearRequests()
    const measured = await runAction({ inputs })
    if (measured.outputs.stage !== '5%') throw new Error(`measured run failed:\n${measured.stdout}`)
    const accepted = /accepted by the controller: .* after (\d+) ms \((\d+) status reads?\)/.exec(
      measured.stdout
    )
    if (!accepted) throw new Error(`no acceptance line in:\n${measured.stdout}`)
    return {
      requests: api.requests
        .filter(request => request.verb !== 'discovery')
        .map(request => `${request.verb} ${request.resource}`),
      waitedMs: Number(accepted[1]),
      reads: Number(accepted[2])
    }
  } finally {
    await api.close()
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

console.log(
  '| controller delay | requests (before the wait + status reads) | wait for acceptance (median, min-max) |'
)
console.log(
  '| ---------------- | ----------------------------------------- | ------------------------------------ |'
)
for (const delay of delays) {
  const samples: Sample[] = []
  for (let run = 0; run < runs; run++) samples.push(await sample(delay))
  const before = samples.map(s => s.requests.length - s.reads)
  const reads = samples.map(s => s.reads)
  const waits = samples.map(s => s.waitedMs)
  console.log(
    `| ${delay} ms | ${median(before)} + ${median(reads)} (reads ${Math.min(...reads)}-${Math.max(...reads)}) | ${median(waits)} ms (${Math.min(...waits)}-${Math.max(...waits)}) |`
  )
  if (delay === delays[0]) console.error(`requests of one transition: ${samples[0].requests.join(', ')}`)
}
