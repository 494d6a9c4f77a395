/** Kubernetes name rules and the "did you mean" suggestion for misspelt keys and values. */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_LABEL_LENGTH = 63

/** Why `value` is not a DNS-1123 label (Kubernetes object names, namespaces), or undefined when it is one. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(value)) return undefined
  const lowered = value.toLowerCase()
  const hint = lowered !== value && DNS_LABEL.test(lowered) ? `; try '${lowered}'` : ''
  return (
    `must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, ` +
    `at most ${MAX_LABEL_LENGTH} characters); got '${value}'${hint}`
  )
}

/** Why `value` is not a Kubernetes label value, or undefined when it is one. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length <= MAX_LABEL_LENGTH && LABEL_VALUE.test(value)) return undefined
  return (
    `must be a Kubernetes label value (letters, digits, '-', '_' and '.', starting and ending with a letter ` +
    `or digit, at most ${MAX_LABEL_LENGTH} characters); got '${value}'`
  )
}

/** Why `value` is not a Kubernetes label key (`name` or `prefix/name`), or undefined when it is one. */
export function labelKeyProblem(value: string): string | undefined {
  const slash = value.lastIndexOf('/')
  const prefix = slash === -1 ? undefined : value.slice(0, slash)
  const name = value.slice(slash + 1)
  const prefixValid = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix))
  if (prefixValid && labelValueProblem(name) === undefined) return undefined
  return `must be a Kubernetes label key such as 'version' or 'example.com/version'; got '${value}'`
}

export { closestMatch, didYouMean, editDistance } from '../common/text.js'
