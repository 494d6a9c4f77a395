/** Help texts of the command-line interface: the tool's and each command's. */

export const CLI_NAME = 'istio-canary'

export type CliCommand = 'status' | 'advance' | 'verify' | 'rollback' | 'promote'

export const CLI_COMMANDS: readonly CliCommand[] = ['status', 'advance', 'verify', 'rollback', 'promote']

interface CommandHelp {
  summary: string
  details: string[]
}

const COMMAND_HELP: Record<CliCommand, CommandHelp> = {
  status: {
    summary: 'show the release: stage, ladder, last checks (read-only)',
    details: [
      'Reads the release state recorded on the routing objects and prints it. Changes nothing.',
      'Status: idle, in-progress, completed or rolled-back.'
    ]
  },
  advance: {
    summary: 'apply the next stage of the plan and watch it',
    details: [
      'From idle, pins the routing to the stable version and applies stage 1; from a passed stage k,',
      'applies stage k+1. The stage is watched for its bake time: failing checks roll the routing back.',
      'A stage applied but not yet passed is watched again, not skipped. Ctrl-C stops the watch and',
      "applies the plan's onCancel; a second Ctrl-C exits at once."
    ]
  },
  verify: {
    summary: "re-run the current stage's checks; roll back if they fail",
    details: [
      "Watches the current stage's checks for a short window: healthy, or rolled back.",
      'Nothing in progress: unchanged.'
    ]
  },
  rollback: {
    summary: 'restore the routing to the stable version now',
    details: [
      'Restores the routing objects exactly to the rollback target recorded before stage 1. The canary',
      'Deployments keep running. Never blocked by drift (it is reported as a warning).'
    ]
  },
  promote: {
    summary: 'apply the last stage now, skipping the rest, and watch it',
    details: ['Like advance, but jumps straight to the last stage of the plan.']
  }
}

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

export function toolHelp(): string {
  return [
    `${CLI_NAME}: progressive canary delivery on Istio`,
    '',
    `Usage: ${CLI_NAME} <command> [options]`,
    '',
    'Commands:',
    ...table(CLI_COMMANDS.map(command => [command, COMMAND_HELP[command].summary] as const)),
    '',
    'Options:',
    ...table(OPTIONS_HELP),
    '',
    ...EXIT_STATUS,
    '',
    `Run '${CLI_NAME} <command> --help' for a command's details.`,
    ''
  ].join('\n')
}

export function commandHelp(command: CliCommand): string {
  const help = COMMAND_HELP[command]
  return [
    `Usage: ${CLI_NAME} ${command} [options]`,
    '',
    `${command}: ${help.summary}`,
    '',
    ...help.details,
    '',
    'Options:',
    ...table(OPTIONS_HELP),
    '',
    ...EXIT_STATUS,
    '',
    'Example:',
    `  ${CLI_NAME} ${command} --plan deploy/reviews-canary.yaml --context staging`,
    ''
  ].join('\n')
}
