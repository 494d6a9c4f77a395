import type { Mapping } from '../../plan/plan-yaml.js'
import type { CheckSyntax, PlanHead, RouterSyntax } from '../../plan/vocabulary.js'
import type { CheckBase, CheckEnvironment, Evaluation } from '../types.js'

/** What a check kind decides; evaluateCheck adds the check's identity, time and threshold. */
export type CheckOutcome = Pick<
  Evaluation,
  'value' | 'verdict' | 'message' | 'details' | 'decisive' | 'evidence'
>

/** An environment variable a check reads a credential from. */
export interface CredentialVariable {
  /** The plan field naming it, below the check, e.g. `http.headersFromEnv.x-api-key`. */
  field: string
  variable: string
  /** How the value travels: as an HTTP header value as it is, or as one half of a basic-auth pair. */
  sent: 'as-is' | 'basic-user' | 'basic-password'
}

/** Everything one check kind is: how the plan writes it, how it is evaluated and described, what secrets it reads. */
export interface CheckKindDefinition<C extends CheckBase> extends CheckSyntax {
  /** Reads the settings under the check's kind key; `router`: what the plan's router's telemetry offers. */
  read(check: Mapping, name: string, head: PlanHead, router: RouterSyntax): C
  evaluate(check: C, env: CheckEnvironment): Promise<CheckOutcome>
  /** Human-readable pass condition, e.g. ">= 0.99" or "status in [200]". */
  threshold(check: C): string
  /** The environment variables whose values the check sends (masked, and checked at start). */
  secrets(check: C): CredentialVariable[]
}
