/** The revision of a release: an image tag, a version or a commit, shown in reports and kept in the state. */
import { visible } from '../common/text.js'
import type { Plan } from './types.js'

const MAX_LENGTH = 128
/** Image tags, versions, digests (`sha256:…`), commits and refs: visible ASCII only, no spaces. */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._+:@/-]*$/

/** A revision given by the user that cannot be one; the caller names where it came from. */
export class RevisionError extends Error {
  constructor(readonly problem: string) {
    super(problem)
    this.name = 'RevisionError'
  }
}

/** Why `revision` cannot be a revision, or undefined when it can. */
export function revisionProblem(revision: string): string | undefined {
  if (revision.length <= MAX_LENGTH && REVISION.test(revision)) return undefined
  return (
    `'${visible(revision)}' must be at most ${MAX_LENGTH} characters of letters, digits and . _ + : @ / -, ` +
    `starting with a letter or digit (an image tag or version)`
  )
}

/** The revision to release: the given one (trimmed), else the plan's canary. */
export function resolveRevision(given: string, plan: Plan): string {
  const revision = given.trim() || plan.canary
  const problem = revisionProblem(revision)
  if (problem) throw new RevisionError(problem)
  return revision
}
