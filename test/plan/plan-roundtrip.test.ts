import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { formatDuration } from '../../src/common/duration.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import type { CompareCheck } from '../../src/analysis/checks/compare.js'
import type { HttpCheck } from '../../src/analysis/checks/http.js'
import type { KubernetesCheck } from '../../src/analysis/checks/kubernetes.js'
import type { PrometheusCheck } from '../../src/analysis/checks/prometheus.js'
import type { Plan, Stage } from '../../src/plan/types.js'

type Check = PrometheusCheck | HttpCheck | KubernetesCheck | CompareCheck

type PlanFile = Record<string, unknown>

const dnsLabel = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/)
const labelValue = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,6}[A-Za-z0-9])?$/)
const duration = fc.integer({ min: 1, max: 2 * 3_600_000 }).map(formatDuration)
const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)
const plainText = fc.stringMatching(/^[A-Za-z0-9=;._-]{1,12}$/)
const re2Regex = fc.constantFrom('^(.*?;)?(user=test-user)(;.*)?$', '^beta-[0-9]+$', '.*', '(?i)canary')
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/)
const prometheusUrl = fc.constantFrom('http://prometheus.istio-system:9090', 'https://prom.example.com/api')
const hundredths = (min: number, max: number) => fc.integer({ min, max }).map(value => value / 100)

const stringMatch = fc.oneof(
  plainText.map(exact => ({ exact })),
  plainText.map(prefix => ({ prefix })),
  re2Regex.map(regex => ({ regex }))
)
const matchStage = fc.dictionary(headerName, stringMatch, { minKeys: 1, maxKeys: 3 }).map(headers => ({
  match: { headers }
}))
const weightStages = fc
  .uniqueArray(fc.integer({ min: 1, max: 100 }), { maxLength: 5 })
  .map(weights => [...weights].sort((a, b) => a - b).map(weight => ({ weight })))

/** Weight stages in increasing order, match stages inserted anywhere, an optional finalize last. */
const stages = fc
  .record({
    weights: weightStages,
    matches: fc.array(fc.tuple(matchStage, fc.nat()), { maxLength: 3 }),
    finalize: fc.option(fc.record({ deleteStable: fc.boolean() }), { nil: undefined }),
    extras: fc.array(fc.record({ named: fc.boolean(), bake: fc.option(duration, { nil: undefined }) }), {
      minLength: 10,
      maxLength: 10
    })
  })
  .map(({ weights, matches, finalize, extras }) => {
    const list: PlanFile[] = [...weights]
    for (const [stage, position] of matches) list.splice(position % (list.length + 1), 0, stage)
    if (finalize) list.push({ finalize })
    return list.map((stage, index) => ({
      ...stage,
      ...(extras[index].named && { name: `stage-${index}` }),
      ...(extras[index].bake !== undefined && { bake: extras[index].bake })
    }))
  })
  .filter(list => list.length > 0)

const credentials = fc.oneof(
  fc.constant({}),
  envName.map(bearerTokenEnv => ({ bearerTokenEnv })),
  fc.tuple(envName, envName).map(([usernameEnv, passwordEnv]) => ({ usernameEnv, passwordEnv }))
)
const bounds = (min: number, max: number) =>
  fc
    .tuple(
      fc.option(hundredths(min, max), { nil: undefined }),
      fc.option(hundredths(min, max), { nil: undefined })
    )
    .filter(([low, high]) => low !== undefined || high !== undefined)
    .map(([low, high]) => {
      const [lower, upper] = low !== undefined && high !== undefined && low > high ? [high, low] : [low, high]
      return { ...(lower !== undefined && { min: lower }), ...(upper !== undefined && { max: upper }) }
    })

const prometheusCheck = fc
  .tuple(
    prometheusUrl,
    credentials,
    fc.oneof(
      fc.tuple(fc.constant({ template: 'success-rate' }), bounds(0, 100)),
      fc.tuple(fc.constant({ template: 'latency-p99' }), bounds(0, 100_000)),
      fc.tuple(
        fc
          .constantFrom('up{service="$service", namespace="$namespace"}', 'rate(x{v="$canary"}[$interval])')
          .map(query => ({ query })),
        bounds(-1000, 1000)
      )
    )
  )
  .map(([url, auth, [source, limits]]) => ({ prometheus: { url, ...auth, ...source, ...limits } }))
const httpCheck = fc
  .record(
    {
      url: fc.constantFrom('http://reviews:9080/health', 'https://bookinfo.example.com/productpage'),
      method: fc.constantFrom('GET', 'HEAD', 'POST'),
      headers: fc.dictionary(headerName, plainText, { maxKeys: 2 }),
      headersFromEnv: fc.constant({ authorization: 'API_AUTH' }),
      expectStatus: fc.uniqueArray(fc.integer({ min: 100, max: 599 }), { minLength: 1, maxLength: 3 }),
      expectBody: re2Regex,
      timeout: duration
    },
    { requiredKeys: ['url'] }
  )
  .map(http => ({ http }))
const kubernetesCheck = fc.nat({ max: 10 }).map(maxRestarts => ({ kubernetes: { maxRestarts } }))
const compareCheck = fc
  .record({
    url: prometheusUrl,
    auth: credentials,
    direction: fc.constantFrom('increase', 'decrease', 'either'),
    tolerance: hundredths(1, 200),
    confidence: hundredths(51, 99)
  })
  .map(({ url, auth, ...rest }) => ({
    compare: {
      prometheus: { url, ...auth, query: 'histogram_quantile(0.99, x{version="$version"})' },
      ...rest
    }
  }))
const sequentialSource = fc.oneof(
  fc.constant({ template: 'success-rate' }),
  // Bucket bounds common to both routers' latency histograms.
  fc.constantFrom('5ms', '50ms', '250ms', '1s', '2s500ms').map(slowerThan => ({
    template: 'slow-requests',
    slowerThan
  })),
  fc.constant({ query: 'avg_over_time(latency{version="$version"}[$window])' })
)
const sequentialCheck = fc
  .record(
    {
      url: prometheusUrl,
      source: sequentialSource,
      direction: fc.constantFrom('increase', 'decrease', 'either'),
      tolerance: hundredths(0, 99),
      alpha: hundredths(1, 50),
      minSamples: fc.integer({ min: 2, max: 1000 }),
      quantile: hundredths(1, 99)
    },
    { requiredKeys: ['url', 'source'] }
  )
  .map(({ url, source, quantile, ...rest }) => ({
    compare: {
      method: 'sequential',
      prometheus: { url, ...source },
      ...rest,
      ...('query' in source && quantile !== undefined && { quantile })
    }
  }))
const checks = fc
  .array(fc.oneof(prometheusCheck, httpCheck, kubernetesCheck, compareCheck, sequentialCheck), {
    maxLength: 4
  })
  .map(list => list.map((check, index) => ({ name: `check-${index}`, ...check })))

const planFile: fc.Arbitrary<PlanFile> = fc
  .record(
    {
      service: dnsLabel,
      namespace: dnsLabel,
      router: fc.constantFrom('VirtualService', 'RouteRule'),
      routing: fc.record({ name: dnsLabel, route: dnsLabel }, { requiredKeys: [] }),
      versions: fc.tuple(labelValue, labelValue).filter(([stable, canary]) => stable !== canary),
      versionLabel: fc.constantFrom('version', 'app.kubernetes.io/version'),
      deploy: fc.record(
        { manifests: fc.constantFrom(['k8s/canary.yaml'], ['a.yaml', 'deploy/b.yml']), timeout: duration },
        { requiredKeys: ['manifests'] }
      ),
      stages,
      analysis: fc.record(
        {
          timing: fc.record(
            {
              interval: fc.integer({ min: 1, max: 600_000 }),
              verifyIntervals: fc.integer({ min: 1, max: 5 })
            },
            { requiredKeys: ['interval'] }
          ),
          bake: duration,
          failureLimit: fc.integer({ min: 1, max: 5 }),
          onNoData: fc.constantFrom('fail', 'ignore'),
          onCancel: fc.constantFrom('rollback', 'keep'),
          checks
        },
        { requiredKeys: [] }
      )
    },
    { requiredKeys: ['service', 'versions', 'stages'] }
  )
  .map(({ versions: [stable, canary], router, routing, analysis, ...rest }) => {
    // RouteRule has no named routes.
    const { route, ...routeRuleRouting } = routing ?? {}
    const validRouting = router === 'RouteRule' ? routeRuleRouting : { ...routeRuleRouting, route }
    return {
      ...rest,
      ...(router && { router }),
      routing: validRouting,
      stable,
      canary,
      ...(analysis && { analysis: analysisFile(analysis) })
    }
  })

/** The verify window is never shorter than the interval. */
function analysisFile({
  timing,
  ...rest
}: {
  timing?: { interval: number; verifyIntervals?: number }
  [field: string]: unknown
}): PlanFile {
  if (timing === undefined) return rest
  const { interval, verifyIntervals } = timing
  return {
    ...rest,
    interval: formatDuration(interval),
    ...(verifyIntervals !== undefined && { verifyWindow: formatDuration(interval * verifyIntervals) })
  }
}

/** Writes a Plan back in plan-file form, every field explicit. */
function toPlanFile(plan: Plan): PlanFile {
  return {
    service: plan.service,
    namespace: plan.namespace,
    router: plan.router,
    routing: plan.routing.objects,
    stable: plan.stable,
    canary: plan.canary,
    versionLabel: plan.versionLabel,
    ...(plan.deploy && {
      deploy: { manifests: plan.deploy.manifests, timeout: formatDuration(plan.deploy.timeoutMs) }
    }),
    stages: plan.stages.map(stageToFile),
    analysis: {
      interval: formatDuration(plan.analysis.intervalMs),
      bake: formatDuration(plan.analysis.bakeMs),
      failureLimit: plan.analysis.failureLimit,
      onNoData: plan.analysis.onNoData,
      onCancel: plan.analysis.onCancel,
      verifyWindow: formatDuration(plan.analysis.verifyWindowMs),
      checks: (plan.analysis.checks as Check[]).map(checkToFile)
    }
  }
}

function stageToFile(stage: Stage): PlanFile {
  const common = {
    name: stage.name,
    ...(stage.bakeMs !== undefined && { bake: formatDuration(stage.bakeMs) })
  }
  switch (stage.kind) {
    case 'match':
      return { ...common, match: { headers: stage.headers } }
    case 'weight':
      return { ...common, weight: stage.weight }
    case 'mirror':
      return {
        ...common,
        mirror: stage.methods ? { percent: stage.percent, methods: stage.methods } : stage.percent
      }
    case 'finalize':
      return { ...common, finalize: { deleteStable: stage.deleteStable } }
  }
}

function checkToFile(check: Check): PlanFile {
  switch (check.kind) {
    case 'prometheus': {
      const { kind: _kind, name, prometheus, ...query } = check
      return { name, prometheus: { ...prometheus, ...query } }
    }
    case 'http': {
      const { kind: _kind, name, timeoutMs, ...http } = check
      return { name, http: { ...http, timeout: formatDuration(timeoutMs) } }
    }
    case 'kubernetes':
      return { name: check.name, kubernetes: { maxRestarts: check.maxRestarts } }
    case 'compare': {
      if (check.method === 'sequential') {
        const { kind: _kind, name, prometheus, query, template, slowerThanMs, ...compare } = check
        const source = {
          ...(query !== undefined && { query }),
          ...(template !== undefined && { template }),
          ...(slowerThanMs !== undefined && { slowerThan: formatDuration(slowerThanMs) })
        }
        return { name, compare: { prometheus: { ...prometheus, ...source }, ...compare } }
      }
      const { kind: _kind, name, prometheus, query, ...compare } = check
      return { name, compare: { prometheus: { ...prometheus, query }, ...compare } }
    }
  }
}

describe('plan round trip', () => {
  it('parses any valid plan, and its serialised form parses to the same Plan', () => {
    fc.assert(
      fc.property(planFile, file => {
        const plan = parsePlan(stringify(file))
        expect(plan.service).toBe(file.service)
        expect(plan.stages).toHaveLength((file.stages as unknown[]).length)
        expect(plan.stages.filter(stage => stage.kind === 'weight').map(stage => stage.weight)).toEqual(
          (file.stages as PlanFile[]).flatMap(stage => (stage.weight === undefined ? [] : [stage.weight]))
        )
        expect(parsePlan(stringify(toPlanFile(plan)))).toStrictEqual(plan)
      }),
      { numRuns: 200 }
    )
  })
})
