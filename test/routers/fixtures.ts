/** Plans and specs shared by the router tests. */
import type { JsonObject } from '../../src/common/json.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import type { Plan } from '../../src/plan/types.js'

export const TEST_USER_REGEX = '^(.*?;)?(user=test-user)(;.*)?$'

/** A plan for service `reviews` (v1 -> v2) with the given YAML stage lines and extra top-level YAML. */
export function plan(stages: string[], extra = ''): Plan {
  return parsePlan(
    `service: reviews\nstable: v1\ncanary: v2\n${extra}stages:\n${stages.map(stage => `  - ${stage}\n`).join('')}`
  )
}

export const COOKIE_STAGE = `match: { headers: { cookie: { regex: "${TEST_USER_REGEX}" } } }`

export function dest(host: string, subset?: string, weight?: number): JsonObject {
  return {
    destination: { host, ...(subset !== undefined && { subset }) },
    ...(weight !== undefined && { weight })
  }
}
