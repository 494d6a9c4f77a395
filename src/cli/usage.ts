/** Help texts of the command-line interface: the tool's and each command's (from the command registry). */
import { COMMANDS, ENGINE_COMMANDS, type EngineCommand } from '../engine/commands.js'

export const CLI_NAME = 'istio-canary'

/** Every engine command runs from the terminal too; `comment` is the action's alone. */
export type CliCommand = EngineCommand
export const CLI_COMMANDS: readonly CliCommand[] = ENGINE_COMMANDS

const OPTIONS_HELP = [
  ['--plan <file|yaml>', 'the plan: a file path or the YAML itself (default: $ISTIO_CANARY_PLAN)'],
  ['--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'],
  ['--context <name>', 'kubeconfig context to use (default: its current context)'],
  ['--revision <rev>', "identity of the canary being released (default: the plan's canary)"],
  ['--dry-run', 'compute, validate and report; persist nothing'],
  ['--json', 'print the run report as JSON on stdout, and nothing else there'],
  ['--verbose', 'print debug lines, and stack traces with errors'],
  ['-h, --help', 'show this help'],
  ['--version', 'print the version']
] as const

const EXIT_STATUS = [
  'Exit status:',
  '  0    success (a rollback command that rolled back included)',
  '  1    invalid plan or input, API error, drift, or failed checks rolled the stage back',
  '  2    usage error',
  '  130  interrupted (Ctrl-C)'
]

function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`)
}

function optionsAndExitStatus(): string[] {
  return ['Options:', ...table(OPTIONS_HELP), '', ...EXIT_STATUS, '']
}

export function toolHelp(): string {
  return [
    `${CLI_NAME}: progressive canary delivery on Istio`,
    '',
    `Usage: ${CLI_NAME} <command> [options]`,
    '',
    'Commands:',
    ...table(CLI_COMMANDS.map(command => [command, COMMANDS[command].summary] as const)),
    '',
    ...optionsAndExitStatus(),
    `Run '${CLI_NAME} <command> --help' for a command's details.`,
    ''
  ].join('\n')
}

export function commandHelp(command: CliCommand): string {
  const help = COMMANDS[command]
  return [
    `Usage: ${CLI_NAME} ${command} [options]`,
    '',
    `${command}: ${help.summary}`,
    '',
    ...help.details,
    '',
    ...optionsAndExitStatus(),
    'Example:',
    `  ${CLI_NAME} ${command} --plan deploy/reviews-canary.yaml --context staging`,
    ''
  ].join('\n')
}
