import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PrometheusServer {
  url: string
  close(): Promise<void>
}

export interface PrometheusServerOptions {
  /** Base URLs of exporters to scrape at `/metrics`, e.g. `http://127.0.0.1:40123`. */
  targets: string[]
  /** How long to wait for readiness and a first successful scrape of every target. */
  startTimeoutMs?: number
}

const BINARY_HINT =
  "run `bash scripts/test-tools.sh` (it unpacks Debian's package into .tools/), `apt-get install prometheus`, or set PROMETHEUS_BIN"
/** Where scripts/test-tools.sh unpacks Debian's prometheus when it is not installed. */
const PROJECT_TOOLS = fileURLToPath(new URL('../../.tools/prometheus/usr/bin', import.meta.url))

export function findPrometheusBinary(): string {
  const candidates = process.env.PROMETHEUS_BIN
    ? [process.env.PROMETHEUS_BIN]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', PROJECT_TOOLS].map(dir =>
        join(dir, 'prometheus')
      )
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not this one
    }
  }
  throw new Error(`the prometheus binary was not found: ${BINARY_HINT}`)
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

function scrapeConfig(targets: string[]): string {
  const hosts = targets.map(target => `'${new URL(target).host}'`).join(', ')
  // scrape_timeout must not exceed scrape_interval, and its default (10s) would.
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: istio-mesh',
    `    static_configs: [{ targets: [${hosts}] }]`,
    ''
  ].join('\n')
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise(resolve => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/** Polls `condition` until it holds; fails at the deadline or as soon as `stopped` says it never will. */
async function until(
  condition: () => Promise<boolean>,
  deadline: number,
  stopped: () => boolean,
  failure: () => string
): Promise<void> {
  for (;;) {
    if (await condition().catch(() => false)) return
    if (stopped() || Date.now() > deadline) throw new Error(failure())
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** The samples of an instant query (the HTTP API, read directly: the kit does not depend on the product). */
async function vector(url: string, query: string): Promise<unknown[]> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`)
  if (!response.ok) return []
  const body = (await response.json()) as { data?: { result?: unknown[] } }
  return body.data?.result ?? []
}

/**
 * Runs a real Prometheus on 127.0.0.1 that scrapes `targets` every second, and resolves once it is ready
 * and has scraped every target successfully.
 */
export async function startPrometheus(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const binary = findPrometheusBinary()
  const directory = await mkdtemp(join(tmpdir(), 'prometheus-'))
  const configFile = join(directory, 'prometheus.yml')
  await writeFile(configFile, scrapeConfig(options.targets))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`

  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn'
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let output = ''
  const keepOutput = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000)
  }
  child.stdout?.on('data', keepOutput)
  child.stderr?.on('data', keepOutput)
  let spawnError: Error | undefined
  child.on('error', error => (spawnError = error))
  // A test run that dies without closing must not leave Prometheus behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  async function close(): Promise<void> {
    process.removeListener('exit', killOnExit)
    child.kill('SIGTERM')
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL')
      await waitForExit(child, 5000)
    }
    await rm(directory, { recursive: true, force: true })
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000)
  const exited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined
  const describeFailure = (what: string) => () =>
    `prometheus ${what} (${spawnError?.message ?? `exit ${child.exitCode ?? child.signalCode ?? 'none'}`}): ${output}`
  try {
    await until(
      async () => (await fetch(`${url}/-/ready`)).ok,
      deadline,
      exited,
      describeFailure('did not become ready')
    )
    const query = `count(up{job="istio-mesh"} == 1) >= ${options.targets.length}`
    await until(
      async () => (await vector(url, query)).length > 0,
      deadline,
      exited,
      describeFailure('did not scrape every target')
    )
  } catch (error) {
    await close()
    throw error
  }
  return { url, close }
}
