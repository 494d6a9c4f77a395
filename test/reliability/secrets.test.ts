/**
 * No secret leaks: a representative set of runs (checks with credentials from the environment, a failing
 * check and its rollback, a drift refusal, GitHub reports) with distinctive credentials everywhere, then a
 * scan of every place a user or a reader of the PR can see. The `::add-mask::` lines are the only place a
 * secret may be printed (the runner consumes them).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import yaml from 'js-yaml'
import { generate } from 'selfsigned'
import { startKubeApi, type KubeApi } from '../../testkit/kube-api/index.js'
import { bookinfoObjects } from '../../testkit/bookinfo.js'
import { startFakeGitHub, type FakeGitHub } from '../../testkit/github-api/fake-github.js'
import { runAction, type ActionResult } from '../../testkit/run-action.js'
import { NETWORKING } from './helpers.js'

const KUBE_TOKEN = 'kubeTokenS3cretValue7a41f0c2e9d8'
const GITHUB_TOKEN = 'ghs_githubTokenS3cretValue5b6c7d8e9f'
const PROM_TOKEN = 'promBearerS3cretValue0f1e2d3c4b5a'
const SMOKE_KEY = 'smokeHeaderS3cretValue99aa88bb77'
const HEAD = 'c0ffee0000000000000000000000000000000001'

interface Stub {
  url: string
  server: Server
  authorizations: string[]
}

/** A stub that answers with what `answer` says and records the credentials it was sent. */
async function stub(
  header: string,
  answer: (credential: string) => { status: number; body: unknown }
): Promise<Stub> {
  const authorizations: string[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume()
    request.on('end', () => {
      const credential = String(request.headers[header] ?? '')
      authorizations.push(credential)
      const { status, body } = answer(credential)
      response.writeHead(status, {
        'content-type': typeof body === 'string' ? 'text/plain' : 'application/json'
      })
      response.end(typeof body === 'string' ? body : JSON.stringify(body))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, server, authorizations }
}

let api: KubeApi
let github: FakeGitHub
let prometheus: Stub
let smoke: Stub
let kubeconfig: string
let clientKeyData: string
let clientKeyPem: string
let healthy = true
const results: ActionResult[] = []

const vector = (value: string) => ({
  status: 'success',
  data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, value] }] }
})

beforeAll(async () => {
  api = await startKubeApi({ token: KUBE_TOKEN })
  api.seed(bookinfoObjects())
  github = await startFakeGitHub({
    owner: 'octo-org',
    repo: 'bookinfo',
    pulls: [{ number: 7, headSha: HEAD }]
  })
  // Healthy: the query answers 0.999; unhealthy: 0.5, under the check's minimum.
  prometheus = await stub('authorization', () => ({
    status: 200,
    body: vector(healthy ? '0.999' : '0.5')
  }))
  // Unhealthy, the smoke endpoint's error echoes the credential it was sent, as some proxies do: the
  // product must keep it out of everything it writes.
  smoke = await stub('x-api-key', credential =>
    healthy ? { status: 200, body: 'Book Reviews' } : { status: 503, body: `key ${credential} is over quota` }
  )
  const pems = await generate([{ name: 'commonName', value: 'ci' }], {
    keyType: 'ec',
    curve: 'P-256'
  } as never)
  clientKeyPem = pems.private
  clientKeyData = Buffer.from(pems.private).toString('base64')
  const config = yaml.load(api.kubeconfig()) as {
    users: { user: Record<string, string> }[]
  }
  config.users[0].user['client-certificate-data'] = Buffer.from(pems.cert).toString('base64')
  config.users[0].user['client-key-data'] = clientKeyData
  kubeconfig = yaml.dump(config)
}, 60_000)

afterAll(async () => {
  await Promise.all([
    api.close(),
    github.close(),
    new Promise(resolve => prometheus.server.close(resolve)),
    new Promise(resolve => smoke.server.close(resolve))
  ])
})

const plan = () => `
service: reviews
stable: v1
canary: v2
stages:
  - weight: 10
  - weight: 50
analysis:
  interval: 300ms
  bake: 700ms
  checks:
    - name: success-rate
      prometheus:
        url: ${prometheus.url}
        query: 'sum(rate(istio_requests_total{destination_version="$canary"}[1m]))'
        bearerTokenEnv: PROM_TOKEN
        min: 0.99
    - name: smoke
      http:
        url: ${smoke.url}/productpage
        headersFromEnv: { x-api-key: SMOKE_KEY }
        expectBody: Book Reviews
`

function workflowEnv(): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'event-'))
  const eventPath = path.join(dir, 'event.json')
  writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7, head: { sha: HEAD } } }))
  return {
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'octo-org/bookinfo',
    GITHUB_SHA: HEAD,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_RUN_ID: '4242',
    GITHUB_SERVER_URL: 'https://github.com',
    PROM_TOKEN,
    SMOKE_KEY
  }
}

async function run(inputs: Record<string, string> = {}): Promise<ActionResult> {
  const result = await runAction({
    inputs: { plan: plan(), kubeconfig, 'github-token': GITHUB_TOKEN, ...inputs },
    env: workflowEnv()
  })
  results.push(result)
  return result
}

/** Each secret, and for the client key also a distinctive piece of its PEM body. */
function secrets(): Record<string, string> {
  const pemBody = clientKeyPem.split('\n').filter(line => line && !line.startsWith('-----'))
  return {
    'kubeconfig token': KUBE_TOKEN,
    'client key (base64)': clientKeyData,
    'client key (PEM)': pemBody.join('').slice(8, 48),
    'GitHub token': GITHUB_TOKEN,
    'Prometheus token': PROM_TOKEN,
    'http header from env': SMOKE_KEY
  }
}

it('runs the representative set', async () => {
  const advanced = await run()
  expect(advanced.exitCode).toBe(0)
  expect(advanced.outputs).toMatchObject({ status: 'advanced', stage: '10%' })
  // The credentials did reach the services that need them.
  expect(prometheus.authorizations).toContain(`Bearer ${PROM_TOKEN}`)
  expect(smoke.authorizations).toContain(SMOKE_KEY)

  healthy = false
  const failed = await run()
  expect(failed.exitCode).toBe(1)
  expect(failed.outputs.status).toBe('rolled-back')
  healthy = true

  const next = await run({ revision: 'v2-b' })
  expect(next.exitCode).toBe(0)
  const edited = api.get(NETWORKING, 'VirtualService', 'default', 'reviews')!
  const http = (edited.spec as { http: { route: { weight?: number }[] }[] }).http
  http[1].route[0].weight = 70
  http[1].route[1].weight = 30
  api.put(edited)
  const refused = await run({ revision: 'v2-b' })
  expect(refused.exitCode).toBe(1)
  expect(refused.annotations.find(a => a.kind === 'error')?.message).toMatch(/^drift: /)

  const status = await run({ command: 'status', revision: 'v2-b' })
  expect(status.exitCode).toBe(0)
  // The reports were written: comments, statuses and summaries are part of the scan.
  expect(github.comments.length).toBeGreaterThan(0)
  expect(github.statuses.length).toBeGreaterThan(0)
  expect(results.filter(r => r.exitCode === 0).every(r => r.summary.length > 0)).toBe(true)
  expect(failed.summary).toContain('rolled back')
}, 120_000)

it('never shows a secret: logs, outputs, report files, summaries, comments, statuses', () => {
  expect(results.length).toBe(5)
  const places: [string, string][] = []
  results.forEach((result, index) => {
    const stdout = result.stdout
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    places.push([`run ${index + 1} stdout`, stdout])
    places.push([`run ${index + 1} stderr`, result.stderr])
    places.push([`run ${index + 1} outputs`, JSON.stringify(result.outputs)])
    places.push([`run ${index + 1} saved state`, JSON.stringify(result.state)])
    places.push([`run ${index + 1} job summary`, result.summary])
    if (result.outputs.report)
      places.push([`run ${index + 1} report file`, readFileSync(result.outputs.report, 'utf8')])
  })
  github.requests.forEach(request => places.push([`GitHub ${request.method} ${request.path}`, request.body]))
  places.push(['GitHub comments', JSON.stringify(github.comments)])
  places.push(['GitHub statuses', JSON.stringify(github.statuses)])
  // The routing objects' annotations are readable by anyone with read access to the namespace.
  places.push([
    'routing annotations',
    JSON.stringify(api.get(NETWORKING, 'VirtualService', 'default', 'reviews'))
  ])
  const leaks: string[] = []
  for (const [secretName, value] of Object.entries(secrets())) {
    for (const [place, text] of places) if (text.includes(value)) leaks.push(`${secretName} in ${place}`)
  }
  expect(leaks).toEqual([])
  // Each credential the run knew of was masked for the runner's log.
  const masked = results[0].stdout.split('\n').filter(line => line.startsWith('::add-mask::'))
  for (const value of [KUBE_TOKEN, clientKeyData, GITHUB_TOKEN, PROM_TOKEN, SMOKE_KEY])
    expect(masked).toContain(`::add-mask::${value}`)
})
