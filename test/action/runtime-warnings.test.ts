/**
 * A full run prints nothing but its own output: an advance with every GitHub report (comment, status, summary)
 * against the Kubernetes API double and the fake GitHub, with Node's warnings on. Node prints deprecations
 * of code outside node_modules only, so this matters for the bundle: `.ci/run` runs this file on `dist/` under
 * Node 24, the action's runtime (ACTION_ENTRY=dist, ACTION_NODE).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { bookinfoObjects, VS_PLAN } from '../../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { runAction } from '../../testkit/run-action.js'

const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'

let api: KubeApi
let github: FakeGitHub
beforeAll(async () => {
  api = await startKubeApi()
  api.seed(bookinfoObjects())
  github = await startFakeGitHub({ pulls: [{ number: 7, headSha: HEAD }] })
})
afterAll(async () => {
  await github.close()
  await api.close()
})

it('an advance with PR reporting prints no runtime warning', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'event-'))
  writeFileSync(path.join(dir, 'event.json'), '{}')
  const result = await runAction({
    inputs: { plan: VS_PLAN, kubeconfig: api.kubeconfig(), 'github-token': 'ghs_fullRunToken000000000001' },
    env: {
      GITHUB_API_URL: github.url,
      GITHUB_REPOSITORY: 'octo-org/bookinfo',
      GITHUB_SHA: HEAD,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: path.join(dir, 'event.json'),
      GITHUB_RUN_ID: '4242',
      // `npm test` silences Node's warnings for jest itself; the action must run with them on.
      NODE_NO_WARNINGS: undefined
    }
  })
  expect(result.exitCode).toBe(0)
  expect(result.outputs.status).toBe('advanced')
  expect(github.comments).toHaveLength(1)
  expect(github.statuses).toHaveLength(1)
  expect(result.summary).toContain('**advanced**')
  expect(result.stderr).toBe('')
  expect(result.stdout).not.toMatch(/Warning|\(node:\d+\)/)
  expect(result.annotations.filter(annotation => annotation.kind !== 'notice')).toEqual([])
}, 120_000)
