import { describe, expect, it } from '@jest/globals'
import {
  closestMatch,
  dnsLabelProblem,
  editDistance,
  labelKeyProblem,
  labelValueProblem
} from '../../src/plan/names.js'

describe('editDistance', () => {
  it.each([
    ['weight', 'weight', 0],
    ['wieght', 'weight', 2],
    ['stage', 'stages', 1],
    ['failurelimit', 'failureLimit', 0],
    ['', 'abc', 3]
  ])('%s -> %s is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance)
  })
})

describe('closestMatch', () => {
  it('suggests a near key and nothing for a far one', () => {
    expect(closestMatch('intervall', ['interval', 'bake'])).toBe('interval')
    expect(closestMatch('colour', ['interval', 'bake'])).toBeUndefined()
  })
})

describe('Kubernetes names', () => {
  it('accepts valid names and explains invalid ones', () => {
    expect(dnsLabelProblem('reviews-v2')).toBeUndefined()
    expect(dnsLabelProblem('Reviews')).toContain("try 'reviews'")
    expect(dnsLabelProblem('a'.repeat(64))).toContain('at most 63')
    expect(labelValueProblem('v1.2_rc')).toBeUndefined()
    expect(labelValueProblem('-v1')).toContain('label value')
    expect(labelKeyProblem('example.com/version')).toBeUndefined()
    expect(labelKeyProblem('bad key')).toContain('label key')
  })
})
