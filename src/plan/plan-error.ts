/**
 * An invalid plan or plan input. `field` is the path of the offending field (`stages[2].weight`), or `''`
 * when the problem concerns the plan as a whole (a YAML syntax error, a missing file).
 */
export class PlanError extends Error {
  override readonly name = 'PlanError'

  constructor(
    readonly field: string,
    /** What is wrong and how to fix it, without the `plan: <field>:` prefix. */
    readonly problem: string,
    /** 1-based line in the plan YAML, when known. */
    readonly line?: number
  ) {
    super(formatMessage(field, problem, line))
  }
}

function formatMessage(field: string, problem: string, line: number | undefined): string {
  if (field === '') return `plan: ${problem}`
  const where = line === undefined ? '' : ` (line ${line})`
  return `plan: ${field}: ${problem}${where}`
}
