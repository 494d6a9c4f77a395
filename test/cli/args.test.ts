import { describe, expect, it } from '@jest/globals'
import { type CliOptions, parseCliArgs, PLAN_ENV, UsageError } from '../../src/cli/args.js'
import { CLI_COMMANDS, commandHelp, toolHelp } from '../../src/cli/usage.js'

function options(argv: string[], env: NodeJS.ProcessEnv = {}): CliOptions {
  const invocation = parseCliArgs(argv, env)
  if (invocation.kind !== 'run') throw new Error(`expected a run, got ${invocation.kind}`)
  return invocation.options
}

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCliArgs(argv, env)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    const message = (error as Error).message
    expect(message).not.toContain('\n')
    return message
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`)
}

describe('parseCliArgs: options', () => {
  it('applies defaults when only the command and plan are given', () => {
    expect(options(['advance', '--plan', 'canary.yaml'])).toEqual({
      command: 'advance',
      plan: 'canary.yaml',
      kubeconfig: undefined,
      context: '',
      revision: '',
      dryRun: false,
      json: false,
      verbose: false
    })
  })

  it('reads every option, in either order around the command and with = values', () => {
    expect(
      options([
        '--json',
        '--plan=deploy/plan.yaml',
        'promote',
        '--kubeconfig',
        'kube.yaml',
        '--context',
        'staging',
        '--revision=1.4.2',
        '--dry-run',
        '--verbose'
      ])
    ).toEqual({
      command: 'promote',
      plan: 'deploy/plan.yaml',
      kubeconfig: 'kube.yaml',
      context: 'staging',
      revision: '1.4.2',
      dryRun: true,
      json: true,
      verbose: true
    })
  })

  it.each(CLI_COMMANDS)('accepts the command %s', command => {
    expect(options([command, '--plan', 'p.yaml']).command).toBe(command)
  })

  it('takes the plan from ISTIO_CANARY_PLAN when --plan is absent, and --plan wins over it', () => {
    expect(options(['status'], { [PLAN_ENV]: 'from-env.yaml' }).plan).toBe('from-env.yaml')
    expect(options(['status', '--plan', 'flag.yaml'], { [PLAN_ENV]: 'from-env.yaml' }).plan).toBe('flag.yaml')
  })

  it('passes inline plan YAML through untouched', () => {
    const yaml = 'service: reviews\nstable: v1\ncanary: v2\nstages:\n  - weight: 50\n'
    expect(options(['advance', '--plan', yaml]).plan).toBe(yaml)
  })
})

describe('parseCliArgs: help and version', () => {
  it('gives the tool help for --help, -h and help', () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      expect(parseCliArgs(argv, {})).toEqual({ kind: 'help', text: toolHelp() })
    }
  })

  it("gives a command's help for '<command> --help' and 'help <command>', without needing a plan", () => {
    expect(parseCliArgs(['advance', '--help'], {})).toEqual({ kind: 'help', text: commandHelp('advance') })
    expect(parseCliArgs(['-h', 'rollback'], {})).toEqual({ kind: 'help', text: commandHelp('rollback') })
    expect(parseCliArgs(['help', 'verify'], {})).toEqual({ kind: 'help', text: commandHelp('verify') })
  })

  it('gives the version for --version', () => {
    expect(parseCliArgs(['--version'], {})).toEqual({ kind: 'version' })
  })

  it('lists every command and option in the tool help', () => {
    const text = toolHelp()
    expect(text).toContain('Usage: istio-canary <command> [options]')
    for (const command of CLI_COMMANDS) expect(text).toMatch(new RegExp(`^  ${command} `, 'm'))
    for (const option of [
      '--plan',
      '--kubeconfig',
      '--context',
      '--revision',
      '--dry-run',
      '--json',
      '--verbose'
    ]) {
      expect(text).toContain(option)
    }
    expect(text).toContain('-h, --help')
    expect(text).toContain('--version')
    expect(text).toContain('ISTIO_CANARY_PLAN')
    expect(text).toMatch(/2 +usage error/)
  })

  it("describes the command in a command's help", () => {
    const text = commandHelp('advance')
    expect(text).toContain('Usage: istio-canary advance [options]')
    expect(text).toContain('apply the next stage of the plan and watch it')
    expect(text).toContain('Ctrl-C')
    expect(text).toContain('--plan')
    expect(commandHelp('status')).toContain('read-only')
  })
})

describe('parseCliArgs: usage errors', () => {
  it('names an unknown option and suggests the nearest one', () => {
    expect(usageError(['advance', '--plan', 'p.yaml', '--dryrun'])).toBe(
      "unknown option '--dryrun'; did you mean '--dry-run'?"
    )
    expect(usageError(['advance', '--frobnicate'])).toBe(
      "unknown option '--frobnicate'; run 'istio-canary advance --help' for the options"
    )
    expect(usageError(['-x'])).toBe("unknown option '-x'; run 'istio-canary --help' for the options")
  })

  it('names an unknown command and lists the commands', () => {
    expect(usageError(['deploy', '--plan', 'p.yaml'])).toBe(
      "unknown command 'deploy'; use one of status, advance, verify, rollback, promote, retry"
    )
    expect(usageError(['comment', '--plan', 'p.yaml'])).toContain('comment is for the GitHub Action only')
    expect(usageError(['help', 'deploy'])).toContain("unknown command 'deploy'")
  })

  it('refuses a missing command, and an extra argument', () => {
    expect(usageError([])).toBe(
      "missing command; use one of status, advance, verify, rollback, promote, retry (see 'istio-canary --help')"
    )
    expect(usageError(['--plan', 'p.yaml'])).toContain('missing command')
    expect(usageError(['advance', 'now', '--plan', 'p.yaml'])).toContain("unexpected argument 'now'")
  })

  it('requires a plan from --plan or ISTIO_CANARY_PLAN', () => {
    expect(usageError(['advance'])).toBe(
      "missing option '--plan'; pass '--plan <file or YAML>' or set ISTIO_CANARY_PLAN"
    )
    expect(usageError(['advance'], { [PLAN_ENV]: '  ' })).toContain("missing option '--plan'")
  })

  it('requires a value for value options, and none for flags', () => {
    expect(usageError(['advance', '--plan'])).toBe(
      "option '--plan' needs a value; write '--plan <file or YAML>'"
    )
    expect(usageError(['advance', '--plan', '--json'])).toContain("option '--plan' needs a value")
    expect(usageError(['advance', '--plan', 'p.yaml', '--context'])).toBe(
      "option '--context' needs a value; write '--context <name>'"
    )
    expect(usageError(['advance', '--plan', 'p.yaml', '--json=yes'])).toBe(
      "option '--json' takes no value; write '--json' alone"
    )
  })

  it('refuses empty values and repeated options', () => {
    expect(usageError(['advance', '--plan', 'p.yaml', '--kubeconfig='])).toBe(
      "option '--kubeconfig' is empty; give a file or leave the option out"
    )
    expect(usageError(['advance', '--plan', 'a.yaml', '--plan', 'b.yaml'])).toBe(
      "option '--plan' is given more than once; give it once"
    )
  })

  it('reports an unknown option even next to --help', () => {
    expect(usageError(['--help', '--nope'])).toContain("unknown option '--nope'")
  })
})
