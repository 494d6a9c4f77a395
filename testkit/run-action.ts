/**
 * Runs the action the way the GitHub runner does: a separate process with INPUT_* variables, GITHUB_OUTPUT and
 * GITHUB_STATE files, GITHUB_STEP_SUMMARY, then (when asked) the post step with the saved state.
 * By default the source runs (see sourceCommand); ACTION_ENTRY=dist runs the committed bundle, with ACTION_NODE
 * as the Node binary (CI points it at Node 24, the action runtime).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface ActionResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
  /** Parsed `report` output file, when there is one. */
  report?: Record<string, unknown>
  /** Lines of stdout that are workflow commands of this kind (error, warning, notice), unescaped. */
  annotations: { kind: string; message: string }[]
  durationMs: number
  files: RunnerFiles
}

export interface RunnerFiles {
  dir: string
  output: string
  state: string
  summary: string
}

export interface ActionOptions {
  inputs: Record<string, string>
  env?: Record<string, string | undefined>
  workspace?: string
  /** Reuse the files of an earlier step (the post step reads the main step's state). */
  files?: RunnerFiles
  post?: boolean
  /** Which entry to run for this call; default: `dist` when ACTION_ENTRY=dist, else `src`. */
  entry?: 'src' | 'dist'
}

function newRunnerFiles(): RunnerFiles {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runner-'))
  const files = {
    dir,
    output: path.join(dir, 'output'),
    state: path.join(dir, 'state'),
    summary: path.join(dir, 'summary.md')
  }
  for (const file of [files.output, files.state, files.summary]) writeFileSync(file, '')
  return files
}

/** Parses the `name<<DELIMITER` file format of GITHUB_OUTPUT and GITHUB_STATE. */
/** The run's `::error::` message ('' when it printed none). */
export function errorOf(result: ActionResult): string {
  return result.annotations.find(annotation => annotation.kind === 'error')?.message ?? ''
}

/** The run's `::warning::` messages. */
export function warningsOf(result: ActionResult): string[] {
  return result.annotations
    .filter(annotation => annotation.kind === 'warning')
    .map(annotation => annotation.message)
}

/** A workflow command's message as the runner shows it (the toolkit escapes %, CR and LF). */
function unescapeCommandData(data: string): string {
  return data.replaceAll('%0D', '\r').replaceAll('%0A', '\n').replaceAll('%25', '%')
}

export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (heredoc) {
      const [, name, delimiter] = heredoc
      const body: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i])
      values[name] = body.join('\n')
    } else if (lines[i].includes('=')) {
      const at = lines[i].indexOf('=')
      values[lines[i].slice(0, at)] = lines[i].slice(at + 1)
    }
  }
  return values
}

/**
 * The source's entry points, each with the environment variable that names a bundle of it: the jest global setup
 * (test/setup/bundle-source.ts) makes one per test run, which starts several times faster than tsx.
 */
const SOURCE = {
  action: { bundle: 'ISTIO_CANARY_ACTION_BUNDLE', entry: 'src/index.ts' },
  cli: { bundle: 'ISTIO_CANARY_CLI_BUNDLE', entry: 'src/cli/index.ts' }
} as const

/** How to start an entry point of the source: its bundle when the test run made one, else through tsx. */
export function sourceCommand(name: keyof typeof SOURCE): { command: string; args: string[] } {
  const bundle = process.env[SOURCE[name].bundle]
  return {
    command: process.execPath,
    args: bundle
      ? [path.join(PROJECT_ROOT, 'testkit', 'start-bundle.mjs'), bundle]
      : ['--import', 'tsx', path.join(PROJECT_ROOT, SOURCE[name].entry)]
  }
}

function entryCommand(entry?: 'src' | 'dist'): { command: string; args: string[] } {
  if ((entry ?? (process.env.ACTION_ENTRY === 'dist' ? 'dist' : 'src')) === 'dist') {
    return {
      command: process.env.ACTION_NODE || process.execPath,
      args: [path.join(PROJECT_ROOT, 'dist', 'index.js')]
    }
  }
  return sourceCommand('action')
}

export interface RunningAction {
  child: ChildProcess
  result: Promise<ActionResult>
  /** Resolves when stdout has printed a line matching the pattern. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>
}

export function startAction(options: ActionOptions): RunningAction {
  const files = options.files ?? newRunnerFiles()
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    // A clean runner environment: no inputs or runner files leak in from the test process.
    if (
      value !== undefined &&
      !key.startsWith('INPUT_') &&
      !key.startsWith('GITHUB_') &&
      !key.startsWith('RUNNER_')
    )
      env[key] = value
  }
  Object.assign(env, {
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: options.workspace ?? files.dir,
    RUNNER_TEMP: files.dir,
    GITHUB_ACTIONS: 'true',
    NODE_OPTIONS: ''
  })
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value
  if (options.post) {
    // The runner hands the post step the main step's saved state as STATE_* variables.
    for (const [name, value] of Object.entries(parseCommandFile(readFileSync(files.state, 'utf8'))))
      env[`STATE_${name}`] = value
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  const { command, args } = entryCommand(options.entry)
  const started = Date.now()
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const listeners: (() => void)[] = []
  child.stdout.on('data', chunk => {
    stdout += chunk
    listeners.forEach(listener => listener())
  })
  child.stderr.on('data', chunk => (stderr += chunk))
  const result = new Promise<ActionResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (exitCode, signal) => {
      const outputs = parseCommandFile(readFileSync(files.output, 'utf8'))
      const report =
        outputs.report && existsSync(outputs.report)
          ? JSON.parse(readFileSync(outputs.report, 'utf8'))
          : undefined
      resolve({
        exitCode,
        signal,
        stdout,
        stderr,
        outputs,
        state: parseCommandFile(readFileSync(files.state, 'utf8')),
        summary: readFileSync(files.summary, 'utf8'),
        report,
        annotations: [...stdout.matchAll(/^::(error|warning|notice)[^:]*::(.*)$/gm)].map(m => ({
          kind: m[1],
          message: unescapeCommandData(m[2])
        })),
        durationMs: Date.now() - started,
        files
      })
    })
  })
  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${pattern} in:\n${stdout}`)),
        timeoutMs
      )
      const check = () => {
        if (pattern.test(stdout)) {
          clearTimeout(timer)
          resolve()
        }
      }
      listeners.push(check)
      check()
    })
  return { child, result, waitForOutput }
}

export function runAction(options: ActionOptions): Promise<ActionResult> {
  return startAction(options).result
}
