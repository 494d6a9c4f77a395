#!/usr/bin/env node
/**
 * `istio-canary`: the engine of the action, run from a terminal. Wiring only: parsing and rendering live
 * in their own pure modules.
 */
import '../runtime-warnings.js'
import { readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import packageJson from '../../package.json' with { type: 'json' }
import { createRelease, loadPlan } from '../engine/index.js'
import { resolveRevision, RevisionError } from '../plan/revision.js'
import { buildRunReport } from '../report/build-report.js'
import type { RunReport } from '../report/types.js'
import { type CliOptions, parseCliArgs, UsageError } from './args.js'
import { locateKubeconfig, KubeconfigError } from './kubeconfig.js'
import { makeStyle, renderReport, useColor } from './render.js'
import { TerminalLogger } from './terminal-logger.js'
import { CLI_NAME } from './usage.js'

const EXIT_OK = 0
const EXIT_FAILED = 1
const EXIT_USAGE = 2
const EXIT_INTERRUPTED = 130

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise(resolve => stream.write(text, () => resolve()))
}

function readKubeconfig(option: string | undefined, env: NodeJS.ProcessEnv): string {
  const source = locateKubeconfig({
    option,
    env,
    home: os.homedir(),
    delimiter: path.delimiter,
    isFile: file => statSync(file, { throwIfNoEntry: false })?.isFile() ?? false
  })
  if (source.kind === 'client-default') return ''
  try {
    return readFileSync(source.path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new KubeconfigError(`kubeconfig: cannot read '${source.path}' (${code})`)
  }
}

/** First Ctrl-C (or SIGTERM) stops the watch so onCancel applies; a second one exits at once. */
function interruptions(logger: TerminalLogger): { signal: AbortSignal; interrupted: () => boolean } {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${CLI_NAME}: ${name} again: exiting now\n`)
      process.exit(EXIT_INTERRUPTED)
    }
    logger.warning(`received ${name}: stopping the watch (onCancel applies); press Ctrl-C again to exit now`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return { signal: controller.signal, interrupted: () => controller.signal.aborted }
}

function exitStatus(report: RunReport): number {
  // As in the action: only checks that failed in this run fail it.
  return report.failed ? EXIT_FAILED : EXIT_OK
}

function revisionOption(given: string, plan: Parameters<typeof resolveRevision>[1]): string {
  try {
    return resolveRevision(given, plan)
  } catch (error) {
    if (error instanceof RevisionError)
      throw new Error(`option '--revision': ${error.problem}`, { cause: error })
    throw error
  }
}

async function run(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const secrets = new Set<string>()
  const redact = (text: string) => {
    let clean = text
    for (const secret of secrets) clean = clean.split(secret).join('***')
    return clean
  }
  // With --json stdout carries the report only: the run's log goes to stderr.
  const logStream = options.json ? process.stderr : process.stdout
  const logger = new TerminalLogger({
    out: logStream,
    err: process.stderr,
    style: makeStyle(useColor(logStream.isTTY, env)),
    verbose: options.verbose,
    interactive: logStream.isTTY === true,
    redact
  })
  const { signal, interrupted } = interruptions(logger)
  try {
    const workspace = process.cwd()
    const { plan } = loadPlan(options.plan, workspace)
    const revision = revisionOption(options.revision, plan)
    const release = createRelease({
      plan,
      revision,
      dryRun: options.dryRun,
      kubeconfig: readKubeconfig(options.kubeconfig, env),
      context: options.context,
      run: {},
      log: logger,
      signal,
      workspace,
      env,
      maskSecret: secret => secrets.add(secret)
    })
    const report = buildRunReport(await release.run(options.command))
    logger.close()
    if (options.json) {
      await write(process.stdout, redact(JSON.stringify(report, null, 2)) + '\n')
    } else {
      const style = makeStyle(useColor(process.stdout.isTTY, env))
      await write(
        process.stdout,
        (logStream === process.stdout ? '\n' : '') + redact(renderReport(report, style))
      )
    }
    return interrupted() ? EXIT_INTERRUPTED : exitStatus(report)
  } catch (error) {
    logger.close()
    await reportError(error, options.verbose, redact)
    return interrupted() ? EXIT_INTERRUPTED : EXIT_FAILED
  }
}

async function reportError(error: unknown, verbose: boolean, redact: (text: string) => string = t => t) {
  const err = error instanceof Error ? error : new Error(String(error))
  const message = err.message.split('\n')[0] || err.name
  let text = `error: ${message}\n`
  if (verbose && err.stack) text += `${err.stack}\n`
  await write(process.stderr, redact(text))
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let invocation
  try {
    invocation = parseCliArgs(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    await write(process.stderr, `error: ${error.message}\n`)
    return EXIT_USAGE
  }
  if (invocation.kind === 'help') {
    await write(process.stdout, invocation.text)
    return EXIT_OK
  }
  if (invocation.kind === 'version') {
    await write(process.stdout, `${CLI_NAME} ${packageJson.version}\n`)
    return EXIT_OK
  }
  return run(invocation.options, env)
}

main(process.argv.slice(2), process.env).then(
  // Exit explicitly: an idle HTTP keep-alive socket must not hold the terminal.
  code => process.exit(code),
  async error => {
    await reportError(error, process.argv.includes('--verbose'))
    process.exit(EXIT_FAILED)
  }
)
