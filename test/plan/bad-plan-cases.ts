/**
 * Bad plans shared by the parser's table (test/plan/bad-plans.test.ts) and the end-to-end table of bad input
 * (test/reliability/bad-input.test.ts), which also proves each is refused before any write to the cluster.
 */

export const HEAD = 'service: reviews\nstable: v1\ncanary: v2\n'
export const STAGES = 'stages:\n  - weight: 50\n'

/** A valid plan with `stages` replaced. */
export function withStages(...stages: string[]): string {
  return `${HEAD}stages:\n${stages.map(stage => `  - ${stage}\n`).join('')}`
}

export interface BadPlan {
  what: string
  yaml: string
  /** The field the error names (`''`: the plan as a whole). */
  field: string
  /** Part of the error after `plan: <field>: `: what is wrong and how to fix it. */
  message: string
  line?: number
}

/** Mirror stages and sessionAffinity, wrong: each refused with the field and the fix. */
export const TRAFFIC_FEATURE_BAD_PLANS: BadPlan[] = [
  {
    what: 'mirror after a weight stage',
    yaml: withStages('weight: 5', 'mirror: 100'),
    field: 'stages[1].mirror',
    message:
      'must come before the first weight stage: a mirror copies traffic to a canary no user sees yet; move it up'
  },
  {
    what: 'mirror percent out of range',
    yaml: withStages('mirror: 150', 'weight: 5'),
    field: 'stages[0].mirror',
    message: 'must be an integer from 1 to 100; got 150'
  },
  {
    what: 'sessionAffinity without a weight stage',
    yaml: `${HEAD}sessionAffinity: {}\nstages:\n  - weight: 100\n`,
    field: 'sessionAffinity',
    message:
      'needs a weight stage below 100: the sticky cookie is set only while traffic is split; add one or remove sessionAffinity'
  },
  {
    what: 'sessionAffinity with an invalid cookie name',
    yaml: `${HEAD}sessionAffinity: { cookieName: "my cookie" }\n${STAGES}`,
    field: 'sessionAffinity.cookieName',
    message:
      "'my cookie' is not a valid cookie name (letters, digits and !#$%&'*+.^_`|~-, no spaces, '=' or ';')"
  },
  {
    what: 'sessionAffinity maxAge beyond 400 days',
    yaml: `${HEAD}sessionAffinity: { maxAge: 10000h }\n${STAGES}`,
    field: 'sessionAffinity.maxAge',
    message: 'must be at most 400 days (browsers cap a cookie at that)'
  }
]
