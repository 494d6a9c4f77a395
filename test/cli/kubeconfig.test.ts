import { describe, expect, it } from '@jest/globals'
import { KubeconfigError, locateKubeconfig, type KubeconfigLookup } from '../../src/cli/kubeconfig.js'

function lookup(files: string[], overrides: Partial<KubeconfigLookup> = {}): KubeconfigLookup {
  return {
    env: {},
    home: '/home/example',
    delimiter: ':',
    isFile: file => files.includes(file),
    ...overrides
  }
}

describe('locateKubeconfig', () => {
  it('uses the --kubeconfig file, and refuses a missing one by name', () => {
    expect(locateKubeconfig(lookup(['k.yaml'], { option: 'k.yaml' }))).toEqual({
      kind: 'file',
      path: 'k.yaml'
    })
    expect(() => locateKubeconfig(lookup([], { option: 'missing.yaml' }))).toThrow(
      new KubeconfigError("kubeconfig: file 'missing.yaml' not found; pass an existing file to --kubeconfig")
    )
  })

  it('prefers --kubeconfig over KUBECONFIG', () => {
    const found = locateKubeconfig(lookup(['a', 'k.yaml'], { option: 'k.yaml', env: { KUBECONFIG: 'a' } }))
    expect(found).toEqual({ kind: 'file', path: 'k.yaml' })
  })

  it('reads the one existing KUBECONFIG file, skipping missing entries as kubectl does', () => {
    expect(locateKubeconfig(lookup(['b'], { env: { KUBECONFIG: 'a:b' } }))).toEqual({
      kind: 'file',
      path: 'b'
    })
  })

  it('leaves several KUBECONFIG files to the client, which merges them', () => {
    expect(locateKubeconfig(lookup(['a', 'b'], { env: { KUBECONFIG: 'a:b' } }))).toEqual({
      kind: 'client-default'
    })
  })

  it('refuses a KUBECONFIG whose files are all missing', () => {
    expect(() => locateKubeconfig(lookup([], { env: { KUBECONFIG: 'a:b' } }))).toThrow(
      'kubeconfig: no file of KUBECONFIG exists (a:b); fix KUBECONFIG or pass --kubeconfig <file>'
    )
  })

  it('falls back to ~/.kube/config, then to in-cluster credentials', () => {
    expect(locateKubeconfig(lookup(['/home/example/.kube/config']))).toEqual({
      kind: 'file',
      path: '/home/example/.kube/config'
    })
    expect(locateKubeconfig(lookup([], { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } }))).toEqual({
      kind: 'client-default'
    })
  })

  it('says how to give a kubeconfig when there is none', () => {
    expect(() => locateKubeconfig(lookup([]))).toThrow(
      'kubeconfig: none found; pass --kubeconfig <file>, set KUBECONFIG, or create ~/.kube/config'
    )
  })
})
