/** Reads and validates every action input in one place. */
import * as core from '@actions/core'
import { loadPlan } from './plan/plan-loader.js'
import type { Plan } from './plan/types.js'
import type { Command } from './report/types.js'

export const COMMANDS: readonly Command[] = ['advance', 'verify', 'rollback', 'promote', 'status', 'comment']
export type ReportKind = 'comment' | 'status' | 'summary'
const REPORT_KINDS: readonly ReportKind[] = ['comment', 'status', 'summary']

export interface ActionInputs {
  command: Command
  plan: Plan
  planSource: string
  kubeconfig: string
  context: string
  revision: string
  dryRun: boolean
  githubToken: string
  prNumber?: number
  report: Set<ReportKind>
  workspace: string
}

/** An input the user must fix; the message names the input and the fix. */
export class InputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InputError'
  }
}

function parseCommand(value: string): Command {
  const command = (value || 'advance').trim() as Command
  if (!COMMANDS.includes(command)) {
    throw new InputError(`input 'command': '${value}' is not a command; use one of ${COMMANDS.join(', ')}`)
  }
  return command
}

function parseBoolean(name: string, value: string): boolean {
  const text = value.trim().toLowerCase()
  if (text === '' || text === 'false') return false
  if (text === 'true') return true
  throw new InputError(`input '${name}': '${value}' is not a boolean; use true or false`)
}

function parsePrNumber(value: string): number | undefined {
  if (!value.trim()) return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) {
    throw new InputError(
      `input 'pr-number': '${value}' is not a pull request number; use a positive integer or leave it empty`
    )
  }
  return number
}

function parseReport(value: string): Set<ReportKind> {
  const words = value
    .split(',')
    .map(word => word.trim())
    .filter(Boolean)
  if (words.length === 1 && words[0] === 'none') return new Set()
  for (const word of words) {
    if (!REPORT_KINDS.includes(word as ReportKind)) {
      throw new InputError(
        `input 'report': '${word}' is not a report; use a comma list of ${REPORT_KINDS.join(', ')}, or none`
      )
    }
  }
  return new Set(words as ReportKind[])
}

export function parseRevision(value: string, plan: Plan): string {
  const revision = value.trim() || plan.canary
  if (revision.length > 128 || /[\s]/.test(revision)) {
    throw new InputError(
      `input 'revision': '${revision}' must be at most 128 characters without spaces (an image tag or version)`
    )
  }
  return revision
}

export function getInputs(env: NodeJS.ProcessEnv = process.env): ActionInputs {
  const planInput = core.getInput('plan', { required: true, trimWhitespace: false })
  const command = parseCommand(core.getInput('command'))
  const dryRun = parseBoolean('dry-run', core.getInput('dry-run'))
  const prNumber = parsePrNumber(core.getInput('pr-number'))
  const report = parseReport(core.getInput('report') || 'comment,status,summary')
  const kubeconfig = core.getInput('kubeconfig', { trimWhitespace: false })
  const githubToken = core.getInput('github-token')
  if (githubToken) core.setSecret(githubToken)
  const workspace = env.GITHUB_WORKSPACE || process.cwd()
  const { plan, source } = loadPlan(planInput, workspace)
  return {
    command,
    plan,
    planSource: source,
    kubeconfig,
    context: core.getInput('context'),
    revision: parseRevision(core.getInput('revision'), plan),
    dryRun,
    githubToken,
    prNumber,
    report,
    workspace
  }
}
