/** The weight-stage transition (5% -> 50%), by the action and by the kubectl script people write instead. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { isDeepStrictEqual } from 'node:util'
import type { RecordedRequest } from '../../testkit/kube-api/index.js'
import { startAction } from '../../testkit/run-action.js'
import { shiftedHttp, TRANSITION_PLAN, unrelatedRoutes, type HttpRoute } from '../fixtures.js'
import { execFileAsync } from '../runtime.js'
import {
  actionInputs,
  type Bench,
  bodyBytes,
  describeFailure,
  isWrite,
  requestLabel,
  setUp
} from './setup.js'

export interface ActionSamples {
  /** Spawn of the process to its exit. */
  ms: number[]
  /** Spawn of the process to the double's receipt of its first request. */
  coldStartMs: number[]
  requests: number[]
  writes: number[]
  /** Bytes of the request bodies (JSON). */
  bodyBytes: number[]
  /** The requests of the last sample, in order. */
  log: string[]
}

export interface KubectlSamples {
  /** `kubectl get` + `kubectl patch`, both processes, start to exit. */
  ms: number[]
  requests: number[]
  /** Of those, discovery requests (/api, /apis, group and group-version documents). */
  discoveryRequests: number[]
  bodyBytes: number[]
  patchType: 'merge' | 'json'
  /** Whether the discovery cache started empty (a fresh runner) or warm (kept from an earlier sample). */
  cache: 'cold' | 'warm'
  log: string[]
}

export interface TransitionResult {
  /** Number of http routes in the VirtualService; undefined: the Bookinfo VirtualService (2 http routes + 1 tcp). */
  routes?: number
  unrelatedRoutes: number
  action: ActionSamples
  kubectl?: KubectlSamples
  kubectlWarm?: KubectlSamples
  /** The unrelated routes were equal before and after every sample (checked, else the bench fails). */
  unrelatedUntouched: boolean
  /** kubectl left the same spec as the action (the same transition). */
  sameResult?: boolean
}

export interface TransitionOptions {
  runs: number
  latencyMs: number
  routes?: number
  kubectl?: string
  /** Also time kubectl with a discovery cache kept across samples. */
  warmKubectl?: boolean
}

/** Patch arguments over this size do not fit one argv string (Linux MAX_ARG_STRLEN is 128 KiB). */
const MAX_PATCH_ARG = 120_000

async function kubectlTransition(
  kubectl: string,
  bench: Bench,
  cacheDir: string,
  weight: number
): Promise<{ ms: number; requests: RecordedRequest[]; patchType: 'merge' | 'json' }> {
  const kubeconfig = path.join(bench.dir, 'kubeconfig')
  if (!existsSync(kubeconfig)) bench.api.writeKubeconfig(kubeconfig)
  const common = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '-n', 'default']
  const env = { ...process.env, HOME: bench.dir, KUBECONFIG: kubeconfig }
  bench.api.clearRequests()
  const started = performance.now()
  const got = await execFileAsync(kubectl, [...common, 'get', 'virtualservice', 'reviews', '-o', 'json'], {
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000
  })
  const object = JSON.parse(got.stdout) as { spec: { http: HttpRoute[] } }
  const http = shiftedHttp(object.spec.http, weight)
  let patchType: 'merge' | 'json' = 'merge'
  let patch = JSON.stringify({ spec: { http } })
  if (patch.length > MAX_PATCH_ARG) {
    // What a script does when the merge patch is too long for the command line: replace the changed routes only.
    patchType = 'json'
    patch = JSON.stringify(
      http.flatMap((route, index) =>
        isDeepStrictEqual(route, object.spec.http[index])
          ? []
          : [{ op: 'replace', path: `/spec/http/${index}/route`, value: route.route }]
      )
    )
  }
  await execFileAsync(
    kubectl,
    [...common, 'patch', 'virtualservice', 'reviews', '--type', patchType, '-p', patch],
    {
      env,
      timeout: 60_000
    }
  )
  const ms = performance.now() - started
  return { ms, requests: [...bench.api.requests], patchType }
}

function emptyKubectlSamples(cache: 'cold' | 'warm'): KubectlSamples {
  return { ms: [], requests: [], discoveryRequests: [], bodyBytes: [], patchType: 'merge', cache, log: [] }
}

function recordKubectl(
  samples: KubectlSamples,
  run: { ms: number; requests: RecordedRequest[]; patchType: 'merge' | 'json' }
) {
  samples.ms.push(run.ms)
  samples.requests.push(run.requests.length)
  samples.discoveryRequests.push(run.requests.filter(r => r.verb === 'discovery').length)
  samples.bodyBytes.push(run.requests.reduce((sum, r) => sum + bodyBytes(r), 0))
  samples.patchType = run.patchType
  samples.log = run.requests.map(requestLabel)
}

/**
 * Advances from the passed stage "5%" to "50%" (`bake: 0s`, no checks) `runs` times, each time from the same
 * stored object, alternating with the kubectl script doing the same transition. Fails when a sample touches an
 * unrelated route or when kubectl and the action leave different specs.
 */
export async function measureTransition(options: TransitionOptions): Promise<TransitionResult> {
  const bench = await setUp(options)
  try {
    const unrelated = unrelatedRoutes(bench.passed)
    const action: ActionSamples = {
      ms: [],
      coldStartMs: [],
      requests: [],
      writes: [],
      bodyBytes: [],
      log: []
    }
    const kubectl = options.kubectl ? emptyKubectlSamples('cold') : undefined
    let sameResult: boolean | undefined
    for (let run = 0; run < options.runs; run++) {
      bench.restore()
      bench.api.clearRequests()
      const started = performance.now()
      const result = await startAction({ inputs: actionInputs(bench.api, TRANSITION_PLAN) }).result
      const elapsed = performance.now() - started
      const requests = [...bench.api.requests]
      if (result.exitCode !== 0 || result.outputs.stage !== '50%' || result.outputs.weight !== '50')
        throw describeFailure('advance 5% -> 50%', result)
      const after = bench.current()
      if (!isDeepStrictEqual(unrelatedRoutes(after), unrelated))
        throw new Error(
          `advance 5% -> 50% changed an unrelated route (${options.routes ?? 'bookinfo'} routes)`
        )
      action.ms.push(elapsed)
      action.coldStartMs.push(requests.length ? bench.receivedAt(requests[0]) - started : NaN)
      action.requests.push(requests.length)
      action.writes.push(requests.filter(isWrite).length)
      action.bodyBytes.push(requests.reduce((sum, r) => sum + bodyBytes(r), 0))
      action.log = requests.map(requestLabel)

      if (options.kubectl && kubectl) {
        bench.restore()
        const cacheDir = mkdtempSync(path.join(bench.dir, 'kube-cache-'))
        recordKubectl(kubectl, await kubectlTransition(options.kubectl, bench, cacheDir, 50))
        rmSync(cacheDir, { recursive: true, force: true })
        const same = isDeepStrictEqual(bench.current()?.spec, after?.spec)
        sameResult = (sameResult ?? true) && same
      }
    }
    let kubectlWarm: KubectlSamples | undefined
    if (options.kubectl && options.warmKubectl) {
      kubectlWarm = emptyKubectlSamples('warm')
      const cacheDir = mkdtempSync(path.join(bench.dir, 'kube-cache-'))
      bench.restore()
      await kubectlTransition(options.kubectl, bench, cacheDir, 50) // fills the discovery cache
      for (let run = 0; run < options.runs; run++) {
        bench.restore()
        recordKubectl(kubectlWarm, await kubectlTransition(options.kubectl, bench, cacheDir, 50))
      }
    }
    return {
      routes: options.routes,
      unrelatedRoutes: unrelated.length,
      action,
      ...(kubectl ? { kubectl } : {}),
      ...(kubectlWarm ? { kubectlWarm } : {}),
      unrelatedUntouched: true,
      ...(sameResult === undefined ? {} : { sameResult })
    }
  } finally {
    await bench.close()
  }
}
