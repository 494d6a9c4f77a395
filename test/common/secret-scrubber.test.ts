import { describe, expect, it } from '@jest/globals'
import { SecretRegistry, scrubSecrets } from '../../src/common/secret-scrubber.js'

describe('scrubSecrets', () => {
  const secret = 'abcdefghijklmnopqrstuvwxyz0123'

  it('replaces every occurrence of a secret', () => {
    expect(scrubSecrets(`a ${secret} b ${secret}`, [secret])).toBe('a *** b ***')
  })

  it('replaces what is left of a secret cut short, from 8 characters on', () => {
    expect(scrubSecrets(`cut: ${secret.slice(0, 12)}`, [secret])).toBe('cut: ***')
    expect(scrubSecrets(`cut: ${secret.slice(0, 8)}…`, [secret])).toBe('cut: ***…')
    expect(scrubSecrets(`short: ${secret.slice(0, 7)}`, [secret])).toBe(`short: ${secret.slice(0, 7)}`)
  })

  it('keeps the text after a cut secret', () => {
    expect(scrubSecrets(`[${secret.slice(0, 10)}XYZ]`, [secret])).toBe('[***XYZ]')
  })

  it('ignores values too short to be secrets', () => {
    expect(scrubSecrets('yes or no', ['yes', ''])).toBe('yes or no')
  })

  it('scrubs the longer of two overlapping secrets whole', () => {
    expect(scrubSecrets(`Bearer ${secret}`, [secret, `Bearer ${secret}`])).toBe('***')
  })
})

describe('SecretRegistry', () => {
  it('registers the lines of a multi-line secret and scrubs strings deep in objects', () => {
    const registry = new SecretRegistry()
    registry.add('-----BEGIN KEY-----\nMIIBkeyMaterialLine1\nMIIBkeyMaterialLine2\n-----END KEY-----')
    const scrubbed = registry.scrubDeep({ a: ['x MIIBkeyMaterialLine2 y'], n: 1, b: { c: 'MIIBkeyMat' } })
    expect(scrubbed).toEqual({ a: ['x *** y'], n: 1, b: { c: '***' } })
  })
})
