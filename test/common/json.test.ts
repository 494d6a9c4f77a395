import { describe, expect, it } from '@jest/globals'
import { clone } from '../../src/common/json.js'

describe('clone', () => {
  it('copies every level, so changing the copy leaves the original as it was', () => {
    const original = {
      http: [{ route: [{ destination: { subset: 'v1' }, weight: 90 }] }],
      hosts: ['reviews']
    }
    const copy = clone(original)
    expect(copy).toEqual(original)
    copy.http[0].route[0].destination.subset = 'v2'
    copy.hosts.push('other')
    expect(original).toEqual({
      http: [{ route: [{ destination: { subset: 'v1' }, weight: 90 }] }],
      hosts: ['reviews']
    })
  })

  it('keeps null, numbers, booleans and strings as they are', () => {
    expect(clone({ a: null, b: 0, c: false, d: '', e: [null, 1.5, true] })).toEqual({
      a: null,
      b: 0,
      c: false,
      d: '',
      e: [null, 1.5, true]
    })
    expect(clone('text')).toBe('text')
    expect(clone(null)).toBeNull()
  })

  it('keeps a "__proto__" key from parsed JSON as a key, not as the prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "name": "r"}') as Record<string, unknown>
    const copy = clone(parsed)
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined()
    expect(Object.keys(copy)).toEqual(['__proto__', 'name'])
    expect(JSON.stringify(copy)).toBe(JSON.stringify(parsed))
  })
})
