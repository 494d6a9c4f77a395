/** Readable YAML diffs of routing specs, for dry runs, logs and the PR comment. */
import { createTwoFilesPatch } from 'diff'
import yaml from 'js-yaml'

function toYaml(spec: unknown): string {
  return spec === null || spec === undefined ? '' : yaml.dump({ spec }, { noRefs: true, lineWidth: 120 })
}

export function yamlDiff(label: string, before: unknown, after: unknown): string {
  const patch = createTwoFilesPatch(label, label, toYaml(before), toYaml(after), '', '', { context: 3 })
  // Drop the "Index"/separator header lines: the label already says which object this is.
  return patch
    .split('\n')
    .filter(line => !line.startsWith('===') && !line.startsWith('Index:'))
    .join('\n')
    .trimEnd()
}
