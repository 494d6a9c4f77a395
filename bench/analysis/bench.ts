/**
 * `npm run bench -- --analysis [--quick]`: how often each way of judging a canary stage rolls it back, and
 * how soon, on simulated stages with and without a regression. Every method reads the same simulated
 * streams. Writes bench/analysis-results.json and prints a table.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { PROJECT_ROOT } from '../../testkit/run-action.js'
import { median } from '../runtime.js'
import {
  COMPARE_SETTINGS,
  FLAGGER_SETTINGS,
  flaggerRollback,
  mwuRollback,
  SEQUENTIAL_SETTINGS,
  sequentialRollback,
  SLOWER_THAN_MS,
  startSequentialServer,
  startThresholdServer,
  thresholdRollback,
  type Rollback
} from './methods.js'
import { simulateStage, STAGE, type StreamSettings, type VersionBehaviour } from './stream.js'

export const METHODS = ['threshold', 'mwu', 'sequential', 'flagger'] as const
export type Method = (typeof METHODS)[number]

/** What the canary does differently from the stable in each scenario. */
export const SCENARIOS: Record<string, Partial<VersionBehaviour>> = {
  healthy: {},
  'errors+1pp': { failureRate: STAGE.stable.failureRate + 0.01 },
  'errors-x2': { failureRate: 2 * STAGE.stable.failureRate },
  'latency+20pct': { latencyMedianMs: 1.2 * STAGE.stable.latencyMedianMs },
  'latency+50pct': { latencyMedianMs: 1.5 * STAGE.stable.latencyMedianMs }
}

export interface AnalysisBenchOptions {
  trials: number
  seed: number
  out: string
  /** Tolerance of the compare and sequential checks; default compare's, 0.25. */
  tolerance?: number
  /** Overrides of the simulated stage (tests use less traffic to run fast). */
  stage?: Partial<StreamSettings>
  /** Called with progress lines and the final table. */
  log?: (line: string) => void
}

export interface Cell {
  trials: number
  rolledBack: number
  medianIntervalsToRollback: number | null
}

const METHOD_DESCRIPTIONS: Record<Method, string> = {
  threshold:
    'the project prometheus check, template success-rate, min 0.99, failureLimit 1, run by watchStage against a server answering its queries from the stream',
  mwu: "today's compare (Mann-Whitney U, compareVerdict) at every interval on the points of its range queries: p90 latency and 5xx ratio per version, [1m] rates, step max(1s, window/250); failureLimit 1",
  sequential:
    'the project compare checks with method: sequential, templates success-rate and slow-requests (slowerThan 100ms), run by watchStage against a server answering their range queries of raw counters from the stream; rolled back when either rejects',
  flagger:
    'Flagger Istio tutorial analysis: request-success-rate min 99% and request-duration p99 max 500 ms over 1m, rollback when failed checks reach 5 (never reset)'
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - text.length))
}

/** A Markdown table: methods as rows, scenarios as columns, "rolled back (median interval)". */
export function resultsTable(methods: Record<Method, Record<string, Cell>>): string {
  const scenarios = Object.keys(SCENARIOS)
  const cell = ({ trials, rolledBack, medianIntervalsToRollback }: Cell) => {
    const percent = Math.round((1000 * rolledBack) / trials) / 10
    const when = medianIntervalsToRollback === null ? '' : `, median ${medianIntervalsToRollback}`
    return `${rolledBack}/${trials} (${percent}%)${when}`
  }
  const rows = [
    ['method', ...scenarios],
    ...METHODS.map(method => [`\`${method}\``, ...scenarios.map(s => cell(methods[method][s]))])
  ]
  const widths = rows[0].map((_, c) => Math.max(...rows.map(row => row[c].length)))
  const line = (row: string[]) => `| ${row.map((text, c) => pad(text, widths[c])).join(' | ')} |`
  return [
    line(rows[0]),
    `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line)
  ].join('\n')
}

export interface Goal {
  goal: string
  met: boolean
  figures: string
}

export function checkGoals(methods: Record<Method, Record<string, Cell>>): Goal[] {
  const rate = (cell: Cell) => cell.rolledBack / cell.trials
  const percent = (cell: Cell) => `${cell.rolledBack}/${cell.trials}`
  const sequential = methods.sequential
  const flaggerMedian = methods.flagger['errors+1pp'].medianIntervalsToRollback
  const sequentialMedian = sequential['errors+1pp'].medianIntervalsToRollback
  return [
    {
      goal: 'sequential rolls back at most 5% of healthy stages',
      met: rate(sequential.healthy) <= 0.05,
      figures: `sequential ${percent(sequential.healthy)}`
    },
    {
      goal: 'sequential rolls back no more healthy stages than mwu',
      met: rate(sequential.healthy) <= rate(methods.mwu.healthy),
      figures: `sequential ${percent(sequential.healthy)}, mwu ${percent(methods.mwu.healthy)}`
    },
    {
      goal: 'sequential catches errors+1pp in at least 95% of trials',
      met: rate(sequential['errors+1pp']) >= 0.95,
      figures: `sequential ${percent(sequential['errors+1pp'])}`
    },
    {
      goal: 'sequential detects errors+1pp no later (median intervals) than flagger',
      // A rule that never catches it is later than any catch.
      met: sequentialMedian !== null && (flaggerMedian === null || sequentialMedian <= flaggerMedian),
      figures: `sequential ${sequentialMedian ?? 'never'}, flagger ${flaggerMedian ?? 'never'}`
    }
  ]
}

export async function runAnalysisBench(options: AnalysisBenchOptions) {
  const log = options.log ?? console.log
  const startedAt = performance.now()
  const stage = { ...STAGE, ...options.stage }
  const { intervals, scrapeSeconds } = stage
  const server = await startThresholdServer()
  const sequentialServer = await startSequentialServer()
  const tolerance = options.tolerance ?? COMPARE_SETTINGS.tolerance
  const rollbacks = Object.fromEntries(
    METHODS.map(method => [
      method,
      Object.fromEntries(Object.keys(SCENARIOS).map(s => [s, [] as (Rollback | null)[]]))
    ])
  ) as Record<Method, Record<string, (Rollback | null)[]>>
  try {
    for (const [scenario, change] of Object.entries(SCENARIOS)) {
      log(`${scenario}: ${options.trials} simulated stages`)
      const canary = { ...stage.stable, ...change }
      for (let trial = 0; trial < options.trials; trial++) {
        // The same seed in every scenario: the stable's traffic is the same, only the canary's changes.
        const stream = simulateStage(stage, canary, options.seed + trial)
        rollbacks.threshold[scenario].push(await thresholdRollback(server, stream, intervals))
        rollbacks.mwu[scenario].push(mwuRollback(stream, intervals, scrapeSeconds, tolerance))
        rollbacks.sequential[scenario].push(
          await sequentialRollback(sequentialServer, stream, intervals, scrapeSeconds, tolerance)
        )
        rollbacks.flagger[scenario].push(flaggerRollback(stream, intervals))
      }
    }
  } finally {
    await server.close()
    await sequentialServer.close()
  }

  const methods = Object.fromEntries(
    METHODS.map(method => [
      method,
      Object.fromEntries(
        Object.entries(rollbacks[method]).map(([scenario, outcomes]) => {
          const when = outcomes.flatMap(rollback => (rollback ? [rollback.interval] : []))
          const cell: Cell = {
            trials: outcomes.length,
            rolledBack: when.length,
            medianIntervalsToRollback: when.length ? median(when) : null
          }
          return [scenario, cell]
        })
      )
    ])
  ) as Record<Method, Record<string, Cell>>
  const goals = checkGoals(methods)
  // Which check of each method rolled the stages back: what makes a method's figures what they are.
  const rolledBackBy = Object.fromEntries(
    METHODS.map(method => [
      method,
      Object.fromEntries(
        Object.entries(rollbacks[method]).map(([scenario, outcomes]) => {
          const byCheck: Record<string, number> = {}
          for (const rollback of outcomes)
            if (rollback) byCheck[rollback.check] = (byCheck[rollback.check] ?? 0) + 1
          return [scenario, byCheck]
        })
      )
    ])
  )
  const results = {
    methods,
    settings: {
      trials: options.trials,
      seed: options.seed,
      requestsPerSecond: stage.requestsPerSecond,
      canaryWeight: stage.canaryWeight,
      intervalSeconds: stage.intervalSeconds,
      intervals: stage.intervals,
      scrapeSeconds: stage.scrapeSeconds,
      stable: stage.stable,
      scenarios: SCENARIOS,
      methods: METHOD_DESCRIPTIONS,
      compare: { ...COMPARE_SETTINGS, tolerance },
      sequential: { ...SEQUENTIAL_SETTINGS, tolerance, slowerThanMs: SLOWER_THAN_MS },
      flagger: FLAGGER_SETTINGS,
      threshold: { template: 'success-rate', min: 0.99, failureLimit: 1 }
    },
    goals,
    rolledBackBy,
    benchSeconds: Math.round((performance.now() - startedAt) / 100) / 10
  }
  // Formatted as the repository's prettier check expects, so a fresh run can be committed as it is.
  const prettier = await import('prettier')
  const config = (await prettier.resolveConfig(options.out)) ?? {}
  writeFileSync(options.out, await prettier.format(JSON.stringify(results), { ...config, parser: 'json' }))

  log('')
  log(
    `rolled back / trials (median evaluation of the rollback); an evaluation every ${stage.intervalSeconds} s, ${intervals} per stage`
  )
  log(resultsTable(methods))
  log('')
  for (const goal of goals) log(`${goal.met ? 'met   ' : 'MISSED'} ${goal.goal}: ${goal.figures}`)
  log(`results: ${path.relative(PROJECT_ROOT, options.out)} (${results.benchSeconds} s)`)
  return results
}
