/** What the bench runs on: the Node binary for the action, kubectl, the machine, and small statistics. */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { PROJECT_ROOT } from '../testkit/run-action.js'

export const BENCH_DIR = path.join(PROJECT_ROOT, 'bench')

export const execFileAsync = promisify(execFile)

export interface NodeChoice {
  path: string
  version: string
  /** Where it came from: the ACTION_NODE variable, bench/.node24, a fresh install there, or the current node. */
  source: 'ACTION_NODE' | 'bench/.node24' | 'installed into bench/.node24' | 'current node (fallback)'
  note?: string
}

function versionOf(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim()
}

/**
 * The action runtime: `ACTION_NODE`, else Node 24 in bench/.node24 (installed from the npm registry when missing),
 * else the current node, which is said in the results.
 */
export function findActionNode(log: (line: string) => void): NodeChoice {
  const fromEnv = process.env.ACTION_NODE
  if (fromEnv) return { path: fromEnv, version: versionOf(fromEnv), source: 'ACTION_NODE' }
  const dir = path.join(BENCH_DIR, '.node24')
  const binary = path.join(dir, 'node_modules', '.bin', 'node')
  if (existsSync(binary)) return { path: binary, version: versionOf(binary), source: 'bench/.node24' }
  try {
    log('installing Node 24 into bench/.node24 (npm i node@24)')
    mkdirSync(dir, { recursive: true })
    if (!existsSync(path.join(dir, 'package.json')))
      writeFileSync(path.join(dir, 'package.json'), '{ "name": "bench-node24", "private": true }\n')
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', 'node@24'], {
      cwd: dir,
      stdio: 'ignore',
      timeout: 300_000
    })
    return { path: binary, version: versionOf(binary), source: 'installed into bench/.node24' }
  } catch (error) {
    const note = `Node 24 could not be installed (${(error as Error).message.split('\n')[0]}); the action ran on ${process.version} instead`
    log(note)
    return { path: process.execPath, version: process.version, source: 'current node (fallback)', note }
  }
}

/** Debian's kubectl: `KUBECTL`, else the one `.ci/run` unpacks into .tools/; undefined when neither exists. */
export function findKubectl(): { path: string; version: string } | undefined {
  const candidate =
    process.env.KUBECTL || path.join(PROJECT_ROOT, '.tools', 'kubectl', 'usr', 'bin', 'kubectl')
  if (!existsSync(candidate)) return undefined
  const out = execFileSync(candidate, ['version', '--client', '--short'], {
    encoding: 'utf8',
    timeout: 30_000
  })
  return { path: candidate, version: out.replace(/^Client Version:\s*/, '').trim() }
}

export interface Machine {
  nproc: number
  memoryGiB: number
  cpuModel: string
  os: string
  benchNode: string
}

export function machine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown'
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (match) cpuModel = match[1].trim()
  } catch {
    // not Linux: os.cpus() is enough
  }
  return {
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpuModel,
    os: `${os.type()} ${os.release()}`,
    benchNode: process.version
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Milliseconds rounded to 0.1 for the results file. */
export function ms(value: number): number {
  return Math.round(value * 10) / 10
}
