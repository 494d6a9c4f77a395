/**
 * Reading a plan document field by field: every reader checks the type, names the field by its path
 * (`stages[2].weight`) and reports the YAML line it came from.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node
} from 'yaml'
import { DurationError, parseDuration } from '../common/duration.js'
import { didYouMean } from './names.js'
import { PlanError } from './plan-error.js'

export type FieldPath = readonly (string | number)[]

export function formatPath(path: FieldPath): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`
    return text === '' ? segment : `${text}.${segment}`
  }, '')
}

/** A parsed plan document: its plain value, and where each field sits in the text. */
export class PlanDocument {
  private constructor(
    private readonly document: Document,
    private readonly lines: LineCounter,
    readonly value: unknown
  ) {}

  static parse(yamlText: string): PlanDocument {
    const lines = new LineCounter()
    const document = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false })
    const [error] = document.errors
    if (error) {
      const line = lines.linePos(error.pos[0]).line
      const reason =
        error.code === 'MULTIPLE_DOCS'
          ? "the plan must be a single YAML document; remove the extra '---'"
          : error.message
      throw new PlanError('', `YAML syntax error at line ${line}: ${reason}`, line)
    }
    return new PlanDocument(document, lines, document.toJS())
  }

  fail(path: FieldPath, problem: string): never {
    throw new PlanError(formatPath(path), problem, this.lineOf(path))
  }

  /** The line of the deepest part of `path` present in the document (a missing key: its parent's line). */
  private lineOf(path: FieldPath): number | undefined {
    let node: unknown = this.document.contents
    let offset: number | undefined
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.document)
      if (isMap(node)) {
        const pair = node.items.find(item => isPair(item) && isScalar(item.key) && item.key.value === segment)
        if (!pair) break
        offset = (pair.key as Node).range?.[0]
        node = pair.value
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment]
        offset = (node as Node).range?.[0]
      } else {
        break
      }
    }
    return offset === undefined ? undefined : this.lines.linePos(offset).line
  }
}

/** How a YAML value is described in "must be X; got Y" messages. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return `the string '${value}'`
  return `the ${typeof value} ${String(value)}`
}

/** A field reader: checks and converts the value found at `path`. */
export type Reader<T> = (value: unknown, path: FieldPath, document: PlanDocument) => T

export const readString: Reader<string> = (value, path, document) => {
  if (typeof value === 'string') return value
  const hint = typeof value === 'number' || typeof value === 'boolean' ? `; quote it: '${String(value)}'` : ''
  return document.fail(path, `must be a string; got ${describeType(value)}${hint}`)
}

export const readNonEmptyString: Reader<string> = (value, path, document) => {
  const text = readString(value, path, document)
  return text.trim() === '' ? document.fail(path, 'must not be empty') : text
}

export const readNumber: Reader<number> = (value, path, document) => {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  return document.fail(path, `must be a finite number; got ${describeType(value)}`)
}

export const readBoolean: Reader<boolean> = (value, path, document) => {
  if (typeof value === 'boolean') return value
  return document.fail(path, `must be true or false; got ${describeType(value)}`)
}

export function readInteger(min: number, max = Number.MAX_SAFE_INTEGER): Reader<number> {
  return (value, path, document) => {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return document.fail(path, `must be an integer ${range}; got ${describeType(value)}`)
    }
    if (value < min || value > max) return document.fail(path, `must be an integer ${range}; got ${value}`)
    return value
  }
}

/** A duration string in milliseconds; a bare number is refused with a hint to add a unit. */
export function readDuration({ positive }: { positive: boolean }): Reader<number> {
  return (value, path, document) => {
    if (typeof value !== 'string' && typeof value !== 'number') {
      return document.fail(path, `must be a duration such as 30s or 5m; got ${describeType(value)}`)
    }
    let ms: number
    try {
      ms = parseDuration(String(value))
    } catch (error) {
      if (error instanceof DurationError) return document.fail(path, error.problem)
      throw error
    }
    if (positive && ms === 0) return document.fail(path, `must be longer than 0s; got '${value}'`)
    return ms
  }
}

export function readEnum<T extends string>(options: readonly T[]): Reader<T> {
  return (value, path, document) => {
    const text = readString(value, path, document)
    if ((options as readonly string[]).includes(text)) return text as T
    const choices = options.join(' | ')
    return document.fail(
      path,
      `must be one of ${choices}; got '${text}'.${didYouMean(text, options)}`.trimEnd()
    )
  }
}

/** A list; with `emptyProblem`, an empty list is refused with that message. */
export function readList<T>(readItem: Reader<T>, emptyProblem?: string): Reader<T[]> {
  return (value, path, document) => {
    if (!Array.isArray(value)) return document.fail(path, `must be a list; got ${describeType(value)}`)
    if (value.length === 0 && emptyProblem !== undefined) return document.fail(path, emptyProblem)
    return value.map((item, index) => readItem(item, [...path, index], document))
  }
}

/**
 * A mapping whose keys are data (header names): `keyProblem` vets each key, `readValue` each value.
 * With `emptyProblem`, an empty mapping is refused with that message.
 */
export function readRecord<T>(
  readValue: Reader<T>,
  keyProblem: (key: string) => string | undefined,
  emptyProblem?: string
): Reader<Record<string, T>> {
  return (value, path, document) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return document.fail(path, `must be a mapping; got ${describeType(value)}`)
    }
    const entries = Object.entries(value)
    if (entries.length === 0 && emptyProblem !== undefined) return document.fail(path, emptyProblem)
    const record: Record<string, T> = {}
    for (const [key, item] of entries) {
      const problem = keyProblem(key)
      if (problem !== undefined) document.fail([...path, key], problem)
      record[key] = readValue(item, [...path, key], document)
    }
    return record
  }
}

/** `read`, then `problemOf` on the result: a reader for values with rules beyond their type. */
export function refine<T>(read: Reader<T>, problemOf: (value: T) => string | undefined): Reader<T> {
  return (value, path, document) => {
    const result = read(value, path, document)
    const problem = problemOf(result)
    return problem === undefined ? result : document.fail(path, problem)
  }
}

/** Refuses the second use of a name among stages or checks. */
export function failOnDuplicateNames(
  document: PlanDocument,
  named: readonly { name: string; path: FieldPath }[],
  noun: string
): void {
  const firstPathByName = new Map<string, FieldPath>()
  for (const { name, path } of named) {
    const first = firstPathByName.get(name)
    if (first !== undefined) {
      document.fail(
        path,
        `duplicate ${noun} name '${name}' (also ${formatPath(first)}); give each ${noun} a unique name`
      )
    }
    firstPathByName.set(name, path)
  }
}

/** Keys that must never hold a secret inline, with the problem to report for each. */
export type ForbiddenKeys = Readonly<Record<string, string>>

/**
 * A YAML mapping whose keys are all known. Unknown keys are refused with a did-you-mean suggestion;
 * `forbidden` keys (inline secrets) with their own message.
 */
export class Mapping {
  private constructor(
    readonly document: PlanDocument,
    readonly path: FieldPath,
    private readonly fields: Readonly<Record<string, unknown>>
  ) {}

  static read(
    document: PlanDocument,
    path: FieldPath,
    value: unknown,
    knownKeys: readonly string[],
    forbidden: ForbiddenKeys = {}
  ): Mapping {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return document.fail(path, `must be a mapping; got ${describeType(value)}`)
    }
    const fields = value as Record<string, unknown>
    for (const key of Object.keys(fields)) {
      if (knownKeys.includes(key)) continue
      const keyPath = [...path, key]
      if (Object.hasOwn(forbidden, key)) document.fail(keyPath, forbidden[key])
      const suggestion = didYouMean(key, knownKeys)
      const help = suggestion === '' ? ` known keys: ${knownKeys.join(', ')}` : suggestion
      document.fail(keyPath, `unknown key '${key}';${help}`)
    }
    return new Mapping(document, path, fields)
  }

  has(key: string): boolean {
    return Object.hasOwn(this.fields, key)
  }

  at(key: string): FieldPath {
    return [...this.path, key]
  }

  fail(key: string, problem: string): never {
    return this.document.fail(this.at(key), problem)
  }

  /** The raw value under `key`, for fields that take more than one shape. */
  value(key: string): unknown {
    return this.fields[key]
  }

  optional<T>(key: string, read: Reader<T>): T | undefined {
    return this.has(key) ? read(this.fields[key], this.at(key), this.document) : undefined
  }

  withDefault<T>(key: string, read: Reader<T>, fallback: T): T {
    return this.optional(key, read) ?? fallback
  }

  /** `why` completes "is required: ..." with what the field is for. */
  required<T>(key: string, read: Reader<T>, why: string): T {
    if (!this.has(key)) return this.fail(key, `is required: ${why}`)
    return read(this.fields[key], this.at(key), this.document)
  }

  /**
   * The value under `key` as a mapping of its own. With `allowEmpty`, an empty value (`finalize:` with
   * nothing after it) counts as an empty mapping.
   */
  mapping(
    key: string,
    knownKeys: readonly string[],
    options: { forbidden?: ForbiddenKeys; allowEmpty?: boolean } = {}
  ): Mapping {
    const value = options.allowEmpty ? (this.fields[key] ?? {}) : this.fields[key]
    return Mapping.read(this.document, this.at(key), value, knownKeys, options.forbidden)
  }

  /** Requires exactly one of `keys`; returns it. */
  exactlyOneOf<K extends string>(keys: readonly K[]): K {
    // In document order, so the error points at the later, surplus key.
    const present = Object.keys(this.fields).filter((key): key is K =>
      (keys as readonly string[]).includes(key)
    )
    const choices = keys.join(', ')
    if (present.length === 0) return this.document.fail(this.path, `needs one of ${choices}`)
    if (present.length > 1) {
      return this.fail(present[1], `has both ${present[0]} and ${present[1]}; keep exactly one of ${choices}`)
    }
    return present[0]
  }
}
