import { RE2JS } from 're2js'

/**
 * Why `pattern` is not a valid RE2 expression, or undefined when it is. Envoy (and so Istio) evaluates
 * regexes with RE2, which refuses some syntax JavaScript accepts: lookahead, lookbehind, backreferences.
 */
export function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern)
    return undefined
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return (
      `'${pattern}' is not a valid RE2 regex (Envoy uses RE2, which has no lookahead, lookbehind or ` +
      `backreferences): ${reason}`
    )
  }
}
