import { formatDuration } from '../common/duration.js'

/**
 * Values for the query placeholders; `version` exists only for per-version queries (compare), `window` only
 * for sequential ones (each point of their range query covers one evaluation interval).
 */
export interface QueryVariables {
  service: string
  namespace: string
  stable: string
  canary: string
  version?: string
  window?: string
  intervalMs: number
}

const PLACEHOLDER = /\$(service|namespace|stable|canary|version|window|interval)\b/g

/** Substitutes `$service $namespace $stable $canary $version $window $interval` in a PromQL text. */
export function renderQuery(text: string, vars: QueryVariables): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    if (name === 'interval') return formatDuration(vars.intervalMs)
    const value = vars[name as Exclude<keyof QueryVariables, 'intervalMs'>]
    if (value === undefined) {
      throw new Error(
        `$${name} is only available in ${name === 'window' ? 'sequential compare' : 'compare'} queries`
      )
    }
    return value
  })
}

/**
 * Rate window of the templates. rate() needs at least two samples inside its window; with the common
 * scrape intervals (15s-30s) a window shorter than a minute can hold fewer, and the query returns nothing.
 */
export function rateWindowMs(intervalMs: number): number {
  return Math.max(intervalMs, 60_000)
}

/** The rate window as a range selector, e.g. `1m`. */
export function rateWindow(intervalMs: number): string {
  return formatDuration(rateWindowMs(intervalMs))
}
