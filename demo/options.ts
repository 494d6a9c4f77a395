/** The demo's command line. */
import path from 'node:path'
import { PROJECT_ROOT } from '../testkit/run-action.js'
import { ROUTERS, type RouterKind } from './plans.js'

export interface DemoOptions {
  router: RouterKind
  output: string
  prometheus: boolean
  entry: 'dist' | 'src'
}

/** The story did not go as expected: the message says how, and no stack trace is needed. */
export class DemoFailure extends Error {}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run demo -- [--router ${ROUTERS.join('|')}] [--output DIR] [--no-prometheus] [--entry dist|src]\n`
  )
  process.exit(2)
}

export function parseArgs(argv: string[]): DemoOptions {
  const options: DemoOptions = {
    router: 'VirtualService',
    output: path.join(PROJECT_ROOT, 'demo-output'),
    prometheus: true,
    entry: 'dist'
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined]
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`)
    switch (flag) {
      case '--router': {
        const router = value()
        if (!ROUTERS.includes(router as RouterKind)) usage(`unknown router: ${router}`)
        options.router = router as RouterKind
        break
      }
      case '--output':
        options.output = path.resolve(value())
        break
      case '--no-prometheus':
        options.prometheus = false
        break
      case '--entry': {
        const entry = value()
        if (entry !== 'dist' && entry !== 'src') usage(`unknown entry: ${entry}`)
        options.entry = entry
        break
      }
      case '--help':
      case '-h':
        usage('Releases Bookinfo reviews v2, then a faulty v3, on a simulated cluster.')
      // falls through (usage exits)
      default:
        usage(`unknown argument: ${argv[i]}`)
    }
  }
  return options
}
