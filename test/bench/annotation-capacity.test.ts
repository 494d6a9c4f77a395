import { describe, expect, it } from '@jest/globals'
import { ANNOTATIONS_LIMIT_BYTES, annotationBytes } from '../../bench/annotation-capacity.js'

describe('the release annotations on the first routing object', () => {
  it('fit the 256 KiB limit for two objects of 1,500 varied routes each, with the largest state', () => {
    expect(annotationBytes(2, 1500)).toBeLessThan(ANNOTATIONS_LIMIT_BYTES)
  })

  it('do not fit for two objects of 2,500 routes each: the size grows with the routes', () => {
    expect(annotationBytes(2, 2500)).toBeGreaterThan(ANNOTATIONS_LIMIT_BYTES)
    expect(annotationBytes(2, 1000)).toBeLessThan(annotationBytes(2, 1500))
  })
})
