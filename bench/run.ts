/**
 * `npm run bench`: what the action costs and how fast it protects users, side by side with the kubectl script people
 * write instead, on the same machine in the same run. Prints a table and writes bench/results.json (raw samples).
 *
 *   --runs N          repetitions of each timed measurement (default 7)
 *   --latency-ms N    round-trip delay the Kubernetes API double adds to every response (default 0)
 *   --routes 1,10,…   VirtualService sizes for the scaling measurement (default 1,10,100,1000)
 *   --bundle-stats    also build src/ with ncc into a temporary folder and say what the bundle is made of (~1 min)
 *   --out FILE        where to write the results (default bench/results.json)
 *
 *   --analysis        instead: the detection benchmark of the analysis methods (bench/analysis/), 200 simulated
 *                     stages per method and scenario; writes bench/analysis-results.json
 *   --quick           with --analysis: 50 stages each (under two minutes)
 *   --trials N        with --analysis: N stages each
 *   --seed N          with --analysis: seed of the first stage (default 1)
 *   --tolerance X     with --analysis: tolerance of the compare and sequential checks (default 0.25)
 *
 *   --annotations     instead: the largest release that fits the annotation limit (bench/annotation-capacity.ts),
 *                     computed, no cluster; prints a table
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { PROJECT_ROOT } from '../testkit/run-action.js'
import { bundleBreakdown, bundleBytes } from './scenarios/bundle.js'
import { measureMwu } from './scenarios/mann-whitney.js'
import { measureMemory } from './scenarios/memory.js'
import { measureNodeStart } from './scenarios/node-start.js'
import { measureRollback } from './scenarios/rollback.js'
import { measureTransition, type TransitionResult } from './scenarios/transition.js'
import { measureWatchRequests } from './scenarios/watch.js'
import { BENCH_DIR, findActionNode, findKubectl, machine, median, ms } from './runtime.js'
import { runAnalysisBench } from './analysis/bench.js'
import { largestFit } from './annotation-capacity.js'
import { measureTransitionRequests } from './scenarios/requests.js'

export interface BenchArgs {
  runs: number
  latencyMs: number
  routes: number[]
  bundleStats: boolean
  out: string
  /** Run the analysis detection benchmark instead, with this many stages per method and scenario. */
  analysis?: { trials: number; seed: number; tolerance?: number }
  /** Print the annotation capacity table instead. */
  annotations?: boolean
}

const ANALYSIS_TRIALS = 200
const QUICK_ANALYSIS_TRIALS = 50

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = {
    runs: 7,
    latencyMs: 0,
    routes: [1, 10, 100, 1000],
    bundleStats: false,
    out: path.join(BENCH_DIR, 'results.json')
  }
  let analysis = false
  let quick = false
  let trials: number | undefined
  let seed = 1
  let tolerance: number | undefined
  let outGiven = false
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`${argv[i - 1]} needs a value`)
      return next
    }
    const integer = (name: string, min: number) => {
      const n = Number(value())
      if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`)
      return n
    }
    switch (argv[i]) {
      case '--runs':
        args.runs = integer('--runs', 1)
        break
      case '--latency-ms':
        args.latencyMs = integer('--latency-ms', 0)
        break
      case '--routes':
        args.routes = value()
          .split(',')
          .map(n => Number(n))
        if (args.routes.some(n => !Number.isInteger(n) || n < 1 || n > 5000))
          throw new Error('--routes takes a comma-separated list of integers from 1 to 5000')
        break
      case '--bundle-stats':
        args.bundleStats = true
        break
      case '--out':
        args.out = path.resolve(value())
        outGiven = true
        break
      case '--analysis':
        analysis = true
        break
      case '--annotations':
        args.annotations = true
        break
      case '--quick':
        quick = true
        break
      case '--trials':
        trials = integer('--trials', 1)
        break
      case '--seed':
        seed = integer('--seed', 0)
        break
      case '--tolerance':
        tolerance = Number(value())
        if (!(tolerance >= 0 && tolerance < 1)) throw new Error('--tolerance must be a number in [0, 1)')
        break
      default:
        throw new Error(`unknown argument ${argv[i]}`)
    }
  }
  if (!analysis && (quick || trials !== undefined || tolerance !== undefined))
    throw new Error('--quick, --trials and --tolerance go with --analysis')
  if (analysis) {
    args.analysis = { trials: trials ?? (quick ? QUICK_ANALYSIS_TRIALS : ANALYSIS_TRIALS), seed, tolerance }
    if (!outGiven) args.out = path.join(BENCH_DIR, 'analysis-results.json')
  }
  return args
}

interface Metric {
  key: string
  unit: string
  median: number
  goal: string
  /** true / false against the goal; null: measured only. */
  met: boolean | null
  samples: number[]
}

function metric(
  key: string,
  unit: string,
  samples: number[],
  goal: string,
  test?: (median: number) => boolean
): Metric {
  const m = median(samples)
  return { key, unit, median: ms(m), goal, met: test ? test(m) : null, samples: samples.map(ms) }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length)
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map(row => row[c].length)))
  const line = (row: string[]) => `| ${row.map((cell, c) => pad(cell, widths[c])).join(' | ')} |`
  return [
    line(rows[0]),
    `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line)
  ].join('\n')
}

function scalingRow(result: TransitionResult): Record<string, unknown> {
  return {
    routes: result.routes,
    actionMs: ms(median(result.action.ms)),
    actionRequests: median(result.action.requests),
    actionWrites: median(result.action.writes),
    actionBodyBytes: median(result.action.bodyBytes),
    kubectlMs: result.kubectl ? ms(median(result.kubectl.ms)) : null,
    kubectlRequests: result.kubectl ? median(result.kubectl.requests) : null,
    kubectlPatchType: result.kubectl?.patchType ?? null,
    unrelatedRoutes: result.unrelatedRoutes,
    unrelatedUntouched: result.unrelatedUntouched,
    samples: { actionMs: result.action.ms.map(ms), kubectlMs: result.kubectl?.ms.map(ms) ?? [] }
  }
}

export async function runBench(args: BenchArgs, log: (line: string) => void = console.log) {
  const startedAt = performance.now()
  const node = findActionNode(log)
  const kubectl = findKubectl()
  // The runner's way of running the action: the bundle, on the action runtime.
  process.env.ACTION_ENTRY = 'dist'
  process.env.ACTION_NODE = node.path
  const bytes = bundleBytes()
  log(`action: dist/index.js (${bytes} bytes) on Node ${node.version} (${node.source})`)
  log(
    kubectl
      ? `kubectl: ${kubectl.version}`
      : 'kubectl: not found (set KUBECTL or run .ci/run); its figures are skipped'
  )
  const { runs, latencyMs } = args

  log(`transition 5% -> 50%, Bookinfo VirtualService, ${runs} runs`)
  const transition = await measureTransition({ runs, latencyMs, kubectl: kubectl?.path, warmKubectl: true })
  log(`rollback latency, ${runs} runs`)
  const rollback = await measureRollback({ runs, latencyMs })
  log('watch requests (kubernetes check)')
  const watch = await measureWatchRequests({ latencyMs })
  log('peak memory')
  const memory = await measureMemory({
    runs: Math.min(runs, 3),
    latencyMs,
    node: node.path,
    kubectl: kubectl?.path
  })
  log('requests per stage transition, by router and routing objects')
  const requests = await measureTransitionRequests({ latencyMs })
  log('Mann-Whitney on 10,000 + 10,000 samples')
  const mwu = await measureMwu({ runs, node: node.path })
  const nodeStart = await measureNodeStart({ runs, node: node.path })
  const scaling: TransitionResult[] = []
  for (const routes of args.routes) {
    log(`transition with ${routes} route(s)`)
    scaling.push(await measureTransition({ runs, latencyMs, routes, kubectl: kubectl?.path }))
  }
  let breakdown: Awaited<ReturnType<typeof bundleBreakdown>> | undefined
  if (args.bundleStats) {
    log('bundle composition (ncc build with stats into a temporary folder)')
    breakdown = await bundleBreakdown()
  }

  const kubectlMs = transition.kubectl ? median(transition.kubectl.ms) : NaN
  const metrics: Metric[] = [
    metric('stageApiRequests', 'requests', transition.action.requests, 'at most 4', m => m <= 4),
    metric('kubectlStageApiRequests', 'requests', transition.kubectl?.requests ?? [], 'measured'),
    metric('stageApplyMs', 'ms', transition.action.ms, 'not slower than kubectl', m => m <= kubectlMs),
    metric('kubectlStageApplyMs', 'ms', transition.kubectl?.ms ?? [], 'measured'),
    metric('rollbackLatencyMs', 'ms', rollback.latencyMs, 'at most 1500', m => m <= 1500),
    metric('coldStartMs', 'ms', transition.action.coldStartMs, 'at most 400', m => m <= 400),
    metric('bundleBytes', 'bytes', [bytes], 'measured'),
    metric('analysisMwu10kMs', 'ms', mwu.evaluationMs, 'at most 50', m => m <= 50)
  ]
  const ratio = (a: number[], b: number[] | undefined) =>
    b && b.length ? Math.round((median(a) / median(b)) * 100) / 100 : null
  const results = {
    generatedAt: new Date().toISOString(),
    options: { runs, latencyMs, routes: args.routes },
    machine: {
      ...machine(),
      actionNode: node.version,
      actionNodeSource: node.source,
      ...(node.note ? { actionNodeNote: node.note } : {}),
      kubectl: kubectl?.version ?? null
    },
    metrics: Object.fromEntries(metrics.map(({ key, ...rest }) => [key, rest])),
    ratios: {
      stageApplyVsKubectl: ratio(transition.action.ms, transition.kubectl?.ms),
      stageApplyVsKubectlWarmCache: ratio(transition.action.ms, transition.kubectlWarm?.ms),
      coldStartVsNodeStart: ratio(transition.action.coldStartMs, nodeStart),
      stageRequestsVsKubectl: ratio(transition.action.requests, transition.kubectl?.requests)
    },
    transition: {
      action: {
        ...transition.action,
        ms: transition.action.ms.map(ms),
        coldStartMs: transition.action.coldStartMs.map(ms)
      },
      kubectl: transition.kubectl ? { ...transition.kubectl, ms: transition.kubectl.ms.map(ms) } : null,
      kubectlWarmCache: transition.kubectlWarm
        ? { ...transition.kubectlWarm, ms: transition.kubectlWarm.ms.map(ms) }
        : null,
      sameResultAsKubectl: transition.sameResult ?? null
    },
    rollback: {
      ...rollback,
      latencyMs: rollback.latencyMs.map(ms),
      reactionMs: rollback.reactionMs.map(ms),
      writeReceivedMs: rollback.writeReceivedMs.map(ms),
      medianReactionMs: ms(median(rollback.reactionMs))
    },
    watch,
    requestsPerTransition: requests,
    memory: {
      ...memory,
      actionMedianKiB: median(memory.actionKiB),
      kubectlGetMedianKiB: memory.kubectlGetKiB.length ? median(memory.kubectlGetKiB) : null,
      kubectlPatchMedianKiB: memory.kubectlPatchKiB.length ? median(memory.kubectlPatchKiB) : null
    },
    mwu: {
      ...mwu,
      firstMs: ms(mwu.firstMs),
      evaluationMs: mwu.evaluationMs.map(ms),
      testOnlyMs: mwu.testOnlyMs.map(ms),
      medianTestOnlyMs: ms(median(mwu.testOnlyMs))
    },
    nodeStartMs: { median: ms(median(nodeStart)), samples: nodeStart.map(ms) },
    scaling: scaling.map(scalingRow),
    bundle: {
      bytes,
      ...(breakdown ? { composition: { ...breakdown, packages: breakdown.packages.slice(0, 15) } } : {})
    },
    benchSeconds: Math.round((performance.now() - startedAt) / 100) / 10
  }
  // Formatted as the repository's prettier check expects, so a fresh run can be committed as it is.
  const prettier = await import('prettier')
  const options = (await prettier.resolveConfig(args.out)) ?? {}
  writeFileSync(args.out, await prettier.format(JSON.stringify(results), { ...options, parser: 'json' }))

  const verdict = (m: Metric) => (m.met === null ? '' : m.met ? 'met' : 'MISSED')
  log('')
  log(
    table([
      ['key', 'median', 'unit', 'goal', ''],
      ...metrics.map(m => [m.key, String(m.median), m.unit, m.goal, verdict(m)])
    ])
  )
  log('')
  log(
    table([
      [
        'routes',
        'action ms',
        'action requests',
        'bytes sent',
        'kubectl ms',
        'kubectl requests',
        'unrelated untouched'
      ],
      ...scaling.map(r => [
        String(r.routes),
        String(ms(median(r.action.ms))),
        String(median(r.action.requests)),
        String(median(r.action.bodyBytes)),
        r.kubectl ? String(ms(median(r.kubectl.ms))) : '-',
        r.kubectl ? `${median(r.kubectl.requests)} (${r.kubectl.patchType} patch)` : '-',
        String(r.unrelatedUntouched)
      ])
    ])
  )
  log('')
  log(
    `stage apply: action/kubectl ${results.ratios.stageApplyVsKubectl} (warm kubectl cache ${results.ratios.stageApplyVsKubectlWarmCache}); ` +
      `cold start ${ms(median(transition.action.coldStartMs))} ms vs bare Node start ${results.nodeStartMs.median} ms`
  )
  log(
    `rollback: flip -> restored ${ms(median(rollback.latencyMs))} ms (failing evaluation -> restored ${results.rollback.medianReactionMs} ms)`
  )
  log(
    `watch: ${watch.perEvaluation} requests per evaluation (${watch.kinds.join(', ')}), ${watch.writes} writes; ` +
      `peak RSS ${results.memory.actionMedianKiB} KiB (${memory.method})`
  )
  log('')
  log(
    table([
      ['test-user -> 5%', 'objects', 'requests', 'routing reads', 'status reads', 'other reads', 'writes'],
      ...requests.map(r =>
        [r.name, r.objects, r.requests, r.routingReads, r.statusReads, r.otherReads, r.writes].map(String)
      )
    ])
  )
  log(`results: ${path.relative(PROJECT_ROOT, args.out)} (${results.benchSeconds} s)`)
  return results
}

/** The most routes per routing object a release can cover, alone and beside 100 KiB of other annotations. */
export function annotationCapacity(log: (line: string) => void = console.log): void {
  const rows = [1, 2, 3, 5].map(objects => {
    const alone = largestFit(objects)
    const shared = largestFit(objects, 100 * 1024)
    return [objects, alone, alone * objects, shared].map(n => n.toLocaleString('en-US'))
  })
  log(table([['routing objects', 'routes per object', 'routes in all', 'with 100 KiB of others'], ...rows]))
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.join(BENCH_DIR, 'run.ts')
if (invokedDirectly) {
  const args = parseArgs(process.argv.slice(2))
  const run = args.annotations
    ? Promise.resolve(annotationCapacity())
    : args.analysis
      ? runAnalysisBench({ ...args.analysis, out: args.out })
      : runBench(args)
  run.catch(error => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
