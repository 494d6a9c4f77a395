/** Reads and validates every action input in one place. */
import * as core from '@actions/core'
import { ENGINE_COMMANDS, type EngineCommand } from './engine/commands.js'
import { loadPlan } from './engine/plan-loader.js'
import { REPORT_KINDS, type ReportKind } from './github/publish.js'
import { resolveRevision, RevisionError } from './plan/revision.js'
import type { Plan } from './plan/types.js'

/** The `command` input: an engine command, or `comment` (read it from a `/canary` PR comment). */
export type ActionCommand = EngineCommand | 'comment'
const ACTION_COMMANDS: readonly ActionCommand[] = [...ENGINE_COMMANDS, 'comment']

export interface ActionInputs {
  command: ActionCommand
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

function parseCommand(value: string): ActionCommand {
  const command = (value || 'advance').trim() as ActionCommand
  if (!ACTION_COMMANDS.includes(command)) {
    throw new InputError(
      `input 'command': '${value}' is not a command; use one of ${ACTION_COMMANDS.join(', ')}`
    )
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
    if (!(REPORT_KINDS as readonly string[]).includes(word)) {
      throw new InputError(
        `input 'report': '${word}' is not a report; use a comma list of ${REPORT_KINDS.join(', ')}, or none`
      )
    }
  }
  return new Set(words as ReportKind[])
}

function parseRevision(value: string, plan: Plan): string {
  try {
    return resolveRevision(value, plan)
  } catch (error) {
    if (error instanceof RevisionError) throw new InputError(`input 'revision': ${error.problem}`)
    throw error
  }
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
