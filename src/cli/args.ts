/** Turns the command line into what to do; pure (no I/O) so every case is unit-tested. */
import { parseArgs } from 'node:util'
import { closestMatch } from '../common/text.js'
import { CLI_COMMANDS, CLI_NAME, type CliCommand, commandHelp, toolHelp } from './usage.js'

/** Environment variable holding the plan when `--plan` is not given. */
export const PLAN_ENV = 'ISTIO_CANARY_PLAN'

export interface CliOptions {
  command: CliCommand
  /** Plan file path or the plan YAML itself. */
  plan: string
  /** Kubeconfig file given with `--kubeconfig`; undefined: the kubectl defaults. */
  kubeconfig?: string
  context: string
  /** `''`: the plan's canary. */
  revision: string
  dryRun: boolean
  json: boolean
  verbose: boolean
}

export type CliInvocation =
  { kind: 'help'; text: string } | { kind: 'version' } | { kind: 'run'; options: CliOptions }

/** A command line the user must fix: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

const OPTION_SPEC = {
  plan: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  revision: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' }
} as const

type OptionName = keyof typeof OPTION_SPEC

const OPTION_NAMES = Object.keys(OPTION_SPEC) as OptionName[]

function isOptionName(name: string): name is OptionName {
  return (OPTION_NAMES as string[]).includes(name)
}

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliInvocation {
  // Not strict: parseArgs' own errors are multi-line and vary by Node version; the tokens are checked here.
  const { tokens } = parseArgs({
    args: [...argv],
    options: OPTION_SPEC,
    strict: false,
    allowPositionals: true,
    tokens: true
  })
  const positionals: string[] = []
  const strings: Partial<Record<OptionName, string>> = {}
  const flags = new Set<OptionName>()
  const seen = new Set<OptionName>()
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value)
    if (token.kind !== 'option') continue
    const helpHint = helpCommand(positionals[0])
    if (!isOptionName(token.name)) {
      const suggestion = closestOption(token.name)
      const fix = suggestion ? `did you mean '--${suggestion}'?` : `run '${helpHint}' for the options`
      throw new UsageError(`unknown option '${token.rawName}'; ${fix}`)
    }
    const name = token.name
    if (seen.has(name)) throw new UsageError(`option '--${name}' is given more than once; give it once`)
    seen.add(name)
    if (OPTION_SPEC[name].type === 'boolean') {
      if (token.value !== undefined) {
        throw new UsageError(`option '--${name}' takes no value; write '--${name}' alone`)
      }
      flags.add(name)
      continue
    }
    // `--plan --json` would otherwise read '--json' as the plan.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
      throw new UsageError(`option '--${name}' needs a value; write '--${name} <${valueName(name)}>'`)
    }
    strings[name] = token.value
  }

  // `istio-canary help [command]` reads as naturally as `--help`.
  if (positionals[0] === 'help' && positionals.length <= 2) {
    return { kind: 'help', text: positionals[1] ? commandHelp(parseCommand(positionals[1])) : toolHelp() }
  }
  const [commandWord, ...extra] = positionals
  const command = commandWord === undefined ? undefined : parseCommand(commandWord)
  if (flags.has('help')) return { kind: 'help', text: command ? commandHelp(command) : toolHelp() }
  if (flags.has('version')) return { kind: 'version' }
  if (!command) {
    throw new UsageError(`missing command; use one of ${CLI_COMMANDS.join(', ')} (see '${CLI_NAME} --help')`)
  }
  if (extra.length > 0) {
    throw new UsageError(
      `unexpected argument '${extra[0]}'; give one command, and option values after their option (see '${helpCommand(command)}')`
    )
  }

  const plan = strings.plan ?? env[PLAN_ENV] ?? ''
  if (plan.trim() === '') {
    throw new UsageError(`missing option '--plan'; pass '--plan <file or YAML>' or set ${PLAN_ENV}`)
  }
  for (const name of ['kubeconfig', 'context', 'revision'] as const) {
    if (strings[name] !== undefined && strings[name].trim() === '') {
      throw new UsageError(`option '--${name}' is empty; give a ${valueName(name)} or leave the option out`)
    }
  }
  return {
    kind: 'run',
    options: {
      command,
      plan,
      kubeconfig: strings.kubeconfig,
      context: strings.context ?? '',
      revision: strings.revision ?? '',
      dryRun: flags.has('dry-run'),
      json: flags.has('json'),
      verbose: flags.has('verbose')
    }
  }
}

function parseCommand(word: string): CliCommand {
  if ((CLI_COMMANDS as readonly string[]).includes(word)) return word as CliCommand
  const hint = word === 'comment' ? ' (comment is for the GitHub Action only)' : ''
  throw new UsageError(`unknown command '${word}'${hint}; use one of ${CLI_COMMANDS.join(', ')}`)
}

function helpCommand(word: string | undefined): string {
  return word && (CLI_COMMANDS as readonly string[]).includes(word)
    ? `${CLI_NAME} ${word} --help`
    : `${CLI_NAME} --help`
}

function valueName(name: OptionName): string {
  return (
    { plan: 'file or YAML', kubeconfig: 'file', context: 'name', revision: 'revision' }[name as string] ??
    'value'
  )
}

/** The known option nearest to a mistyped one (`--dryrun` → `dry-run`), if it is near enough. */
function closestOption(name: string): string | undefined {
  return closestMatch(name, OPTION_NAMES)
}
