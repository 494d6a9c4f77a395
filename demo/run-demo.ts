/**
 * `npm run demo`: the whole product on a simulated cluster, in about a minute.
 *
 * Starts the stack (stack.ts: the Kubernetes API double seeded with Bookinfo's reviews, the traffic simulator, real
 * Prometheus, unpacked into .tools/ on the first run like the tests do, and a fake GitHub), then plays the acts
 * (acts.ts): v2 released through every stage of its plan with the bundled action, one run per stage as one
 * workflow run per approval, and a faulty v3 that the checks catch at its first stage and the action rolls back.
 *
 *   npm run demo [-- --router VirtualService|RouteRule|HTTPRoute] [--output DIR] [--no-prometheus] [--entry dist|src]
 *
 * VirtualService (the default): the mesh's and the ingress gateway's VirtualService released together, with a
 * mirror stage and a sticky canary cookie. HTTPRoute: the Gateway API mesh route, each write accepted by the
 * API double's controller, rules chosen by Gateway API precedence, the same mirror and cookie. RouteRule: the
 * Istio 0.2 tutorial.
 *
 * Writes the PR comment, the job summaries, the run reports and the routing at every step to `demo-output/`.
 * Exits 0 when the story went as expected, 1 when it did not, 130 when interrupted.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { PROJECT_ROOT } from '../testkit/run-action.js'
import { playActs, prepareOutput } from './acts.js'
import { say, seconds, style } from './console.js'
import { DemoFailure, parseArgs, type DemoOptions } from './options.js'
import { startStack, stopStack, type Stack } from './stack.js'

async function runDemo(options: DemoOptions, stack: Partial<Stack>, signal: AbortSignal): Promise<void> {
  const started = Date.now()
  const entryFile = path.join(PROJECT_ROOT, options.entry === 'dist' ? 'dist/index.js' : 'src/index.ts')
  if (!existsSync(entryFile))
    throw new DemoFailure(
      `${path.relative(PROJECT_ROOT, entryFile)} is missing: run \`npm run package\` first`
    )
  prepareOutput(options.output)
  say(
    style.bold(`istio-canary-action demo: Bookinfo reviews on a simulated cluster, router ${options.router}`)
  )
  const ready = await startStack(stack, options, signal)
  if (signal.aborted) return
  await playActs(ready, options, signal)
  say(style.dim(`  demo took ${seconds(Date.now() - started)}`))
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2))
  const stack: Partial<Stack> = {}
  const controller = new AbortController()
  let interrupted = false
  const onSignal = () => {
    if (interrupted) return
    interrupted = true
    say(style.yellow('\ninterrupted: stopping everything the demo started'))
    controller.abort()
    // A terminal's Ctrl-C reaches the action too; a signal sent to the demo alone is passed on.
    setTimeout(() => {
      const child = stack.running?.child
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
    }, 1000).unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let code = 0
  try {
    await runDemo(options, stack, controller.signal)
  } catch (error) {
    if (!interrupted) {
      say(
        style.red(
          `✘ the demo did not go as expected: ${error instanceof DemoFailure ? error.message : String(error)}`
        )
      )
      if (!(error instanceof DemoFailure) && error instanceof Error && error.stack)
        say(style.dim(error.stack))
      code = 1
    }
  } finally {
    await stopStack(stack)
  }
  return interrupted ? 130 : code
}

main().then(
  code => process.exit(code),
  error => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
