/** Unit checks of the double's patch and selector semantics (the parts kubectl and client-node lean on). */
import { describe, expect, it } from '@jest/globals'
import { ApiError } from '../../testkit/kube-api/errors.js'
import { jsonPatch, mergePatch, strategicMergePatch } from '../../testkit/kube-api/patch.js'
import { matchLabels, parseLabelSelector } from '../../testkit/kube-api/selectors.js'

describe('JSON merge patch (RFC 7386)', () => {
  it('merges objects, replaces arrays and deletes on null', () => {
    expect(
      mergePatch({ a: { b: 1, c: 2 }, l: [1, 2], x: 1 }, { a: { b: null, d: 3 }, l: [3], x: null })
    ).toEqual({
      a: { c: 2, d: 3 },
      l: [3]
    })
  })
})

describe('JSON patch (RFC 6902)', () => {
  it('applies add, remove, replace, move, copy and test, with ~0 ~1 escapes and "-"', () => {
    const doc = { metadata: { annotations: { 'a/b': 'x', 'c~d': 'y' } }, l: [1, 2] }
    expect(
      jsonPatch(doc, [
        { op: 'test', path: '/metadata/annotations/a~1b', value: 'x' },
        { op: 'replace', path: '/metadata/annotations/c~0d', value: 'z' },
        { op: 'add', path: '/l/-', value: 3 },
        { op: 'add', path: '/l/0', value: 0 },
        { op: 'remove', path: '/l/1' },
        { op: 'copy', from: '/l', path: '/m' },
        { op: 'move', from: '/metadata/annotations/a~1b', path: '/moved' }
      ])
    ).toEqual({ metadata: { annotations: { 'c~d': 'z' } }, l: [0, 2, 3], m: [0, 2, 3], moved: 'x' })
    expect(doc.l).toEqual([1, 2]) // the input is not modified
  })

  it('fails a test op with 422 and a missing path with 400', () => {
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as ApiError).code
      }
      return 0
    }
    expect(code(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]))).toBe(422)
    expect(code(() => jsonPatch({ a: 1 }, [{ op: 'replace', path: '/b/c', value: 2 }]))).toBe(400)
    expect(code(() => jsonPatch({ a: 1 }, { op: 'add' }))).toBe(400)
  })
})

describe('strategic merge patch', () => {
  const dep = {
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'app', image: 'a:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
            { name: 'side', image: 's:1' }
          ]
        }
      }
    },
    metadata: { finalizers: ['x'] }
  }
  it('merges lists by their patch merge key and honours $patch, $setElementOrder and primitive merge lists', () => {
    const out = strategicMergePatch(dep, {
      metadata: { finalizers: ['y'] },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
            containers: [
              { name: 'app', image: 'a:2', env: [{ name: 'B', value: '2' }] },
              { name: 'side', $patch: 'delete' }
            ]
          }
        }
      }
    }) as typeof dep
    expect(out.metadata.finalizers).toEqual(['x', 'y'])
    expect(out.spec.template.spec.containers).toEqual([
      {
        name: 'app',
        image: 'a:2',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' }
        ],
        ports: [{ containerPort: 80 }]
      }
    ])
    const replaced = strategicMergePatch(dep, {
      spec: { template: { spec: { containers: [{ name: 'only', image: 'o:1' }, { $patch: 'replace' }] } } }
    }) as typeof dep
    expect(replaced.spec.template.spec.containers).toEqual([{ name: 'only', image: 'o:1' }])
  })
})

describe('label selectors', () => {
  it('parses and matches the apimachinery grammar', () => {
    const m = (sel: string, labels: Record<string, string>) => matchLabels(parseLabelSelector(sel), labels)
    expect(m('app=reviews,version in (v1, v2)', { app: 'reviews', version: 'v2' })).toBe(true)
    expect(m('app=reviews,version notin (v2)', { app: 'reviews', version: 'v2' })).toBe(false)
    expect(m('!canary,app', { app: 'x' })).toBe(true)
    expect(m('tier!=web', {})).toBe(true)
    expect(m('replicas>2', { replicas: '3' })).toBe(true)
    expect(() => parseLabelSelector('app in')).toThrow(ApiError)
    expect(() => parseLabelSelector('app=a b')).toThrow(ApiError)
  })
})
