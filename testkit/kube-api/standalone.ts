/**
 * The Kubernetes API double as a process, for tests that drive other processes (kubectl, the bundled action):
 *
 *   npx tsx testkit/kube-api/standalone.ts --kubeconfig <file> [--seed <yaml>...] [--port N] [--rollout-delay-ms N]
 *
 * Writes the kubeconfig, prints one JSON line {"url","kubeconfig","token"} on stdout when ready, and serves a control
 * plane next to the API (same bearer token): GET /_test/requests (the request log), DELETE /_test/requests,
 * POST /_test/faults (a Fault as JSON; a regular expression path as {"pathRegex": "..."}), DELETE /_test/faults,
 * POST /_test/deployment-health ({"namespace","name","available","restarts"}). Exits cleanly on SIGTERM / SIGINT.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { startKubeApiInternal } from './index.js'

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: standalone.ts --kubeconfig <file> [--seed <yaml>...] [--port N] [--rollout-delay-ms N] [--latency-ms N] [--token T]\n`
  )
  process.exit(2)
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  let kubeconfig: string | undefined
  const seeds: string[] = []
  let port: number | undefined
  let rolloutDelayMs: number | undefined
  let latencyMs: number | undefined
  let token: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const [flag, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined]
    const value = () => {
      const v = inline ?? args[++i]
      if (v === undefined) usage(`${flag} needs a value`)
      return v
    }
    const num = () => {
      const v = Number(value())
      if (!Number.isInteger(v) || v < 0) usage(`${flag} needs a non-negative integer`)
      return v
    }
    switch (flag) {
      case '--kubeconfig':
        kubeconfig = value()
        break
      case '--seed':
        seeds.push(value())
        break
      case '--port':
        port = num()
        break
      case '--rollout-delay-ms':
        rolloutDelayMs = num()
        break
      case '--latency-ms':
        latencyMs = num()
        break
      case '--token':
        token = value()
        break
      default:
        usage(`unknown argument: ${a}`)
    }
  }
  if (!kubeconfig) usage('--kubeconfig is required')
  const api = await startKubeApiInternal({ port, rolloutDelayMs, latencyMs, token, controlPlane: true })
  try {
    for (const s of seeds) api.seed(readFileSync(s, 'utf8'))
  } catch (e) {
    await api.close()
    process.stderr.write(`${(e as Error).message}\n`)
    process.exit(1)
  }
  const file = resolve(kubeconfig)
  api.writeKubeconfig(file)
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    api.close().then(
      () => process.exit(0),
      () => process.exit(1)
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdout.write(JSON.stringify({ url: api.url, kubeconfig: file, token: api.token }) + '\n')
}

main().catch(e => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`)
  process.exit(1)
})
