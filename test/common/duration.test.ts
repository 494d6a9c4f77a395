import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { DurationError, formatDuration, parseDuration } from '../../src/common/duration.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
    [' 10m ', 600_000]
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it('asks for a unit when given a bare number', () => {
    expect(() => parseDuration('30')).toThrow("'30' has no unit; add one, e.g. '30s'")
  })

  it.each([
    ['', 'is empty'],
    ['5 minutes', 'is not a duration'],
    ['1.5s', 'is not a duration'],
    ['-5s', 'is not a duration'],
    ['30s1m', 'from largest to smallest'],
    ['1s1s', 'from largest to smallest']
  ])('refuses %j', (text, fragment) => {
    let caught: unknown
    try {
      parseDuration(text)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(DurationError)
    expect((caught as DurationError).problem).toContain(fragment)
  })
})

describe('formatDuration', () => {
  it.each([
    [90_000, '1m30s'],
    [300_000, '5m'],
    [500, '500ms'],
    [0, '0s'],
    [3_600_000, '1h'],
    [1_500, '1s500ms'],
    [1_499.6, '1s500ms'],
    [-2_000, '-2s']
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it.each([
    [999, '999ms'],
    [1_499, '1s'],
    [65_400, '1m5s'],
    [3_725_000, '1h2m5s']
  ])('writes %d ms in whole seconds as %s for elapsed times', (ms, text) => {
    expect(formatDuration(ms, { wholeSeconds: true })).toBe(text)
  })

  it('round-trips through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 24 * 3_600_000 }), ms => {
        expect(parseDuration(formatDuration(ms))).toBe(ms)
      })
    )
  })
})
