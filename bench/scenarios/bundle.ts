/** The size of the action bundle, and (on request) what it is made of. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PROJECT_ROOT } from '../../testkit/run-action.js'
import { execFileAsync } from '../runtime.js'

export function bundleBytes(file = path.join(PROJECT_ROOT, 'dist', 'index.js')): number {
  return statSync(file).size
}

export interface BundleBreakdown {
  /** Sum of the module sizes ncc reports (source before minification). */
  inputBytes: number
  packages: { name: string; bytes: number; share: number }[]
  /** Of @kubernetes/client-node, the part in its generated API clients and models (dist/gen). */
  clientNodeGeneratedBytes: number
  /** Size of the bundle ncc wrote for these stats (minified, as `npm run package`). */
  outputBytes: number
}

interface StatsModule {
  name?: string
  identifier?: string
  size?: number
  modules?: StatsModule[]
}

/** Builds src/index.ts with ncc into a temporary folder (not dist/) with webpack stats, and sums module sizes per package. */
export async function bundleBreakdown(): Promise<BundleBreakdown> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-ncc-'))
  try {
    const stats = path.join(out, 'stats.json')
    await execFileAsync(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js'),
        'build',
        '--minify',
        '--stats-out',
        stats,
        'src/index.ts',
        '-o',
        path.join(out, 'dist')
      ],
      { cwd: PROJECT_ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }
    )
    const leaves: StatsModule[] = []
    const walk = (modules: StatsModule[]) => {
      for (const module of modules) {
        if (module.modules?.length) walk(module.modules)
        else leaves.push(module)
      }
    }
    walk((JSON.parse(readFileSync(stats, 'utf8')) as { modules: StatsModule[] }).modules)
    const seen = new Set<string>()
    const byPackage = new Map<string, number>()
    let inputBytes = 0
    let clientNodeGeneratedBytes = 0
    for (const module of leaves) {
      const name = module.name ?? module.identifier ?? ''
      if (seen.has(name)) continue
      seen.add(name)
      const size = module.size ?? 0
      const pkg =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(name)?.[1] ??
        (name.includes('src/') ? '(this project: src/)' : '(other)')
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + size)
      if (/@kubernetes\/client-node\/dist\/gen\//.test(name)) clientNodeGeneratedBytes += size
      inputBytes += size
    }
    const packages = [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, bytes]) => ({ name, bytes, share: Math.round((bytes / inputBytes) * 1000) / 1000 }))
    return {
      inputBytes,
      packages,
      clientNodeGeneratedBytes,
      outputBytes: statSync(path.join(out, 'dist', 'index.js')).size
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
