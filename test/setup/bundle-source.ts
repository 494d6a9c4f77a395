/**
 * Jest global setup: bundles the action and the CLI from src/ once for the whole run, so every test that starts
 * them as a process (testkit/run-action.ts, the CLI tests) starts plain JavaScript instead of compiling the
 * source through tsx each time (about 0.5 s of CPU instead of 3-4 s per process). The bundles are what
 * tsx would run: the source as it is now, on the Node running jest. They are CommonJS with V8's code cache beside
 * them, which testkit/start-bundle.mjs starts a process from without parsing the bundle again (0.3 s of CPU
 * instead of 0.45 s); the ES module bundle that ships (dist/) is what CI's ACTION_ENTRY=dist run tests. This
 * module imports no project file: jest loads it outside its module mapper.
 */
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Environment variable (read by testkit/run-action.ts) -> the entry point it names a bundle of. */
const BUNDLES = {
  ISTIO_CANARY_ACTION_BUNDLE: 'src/index.ts',
  ISTIO_CANARY_CLI_BUNDLE: 'src/cli/index.ts'
}

export default async function bundleSource(globalConfig: { rootDir: string }): Promise<void> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'istio-canary-source-'))
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }))
  await build({
    absWorkingDir: globalConfig.rootDir,
    entryPoints: Object.values(BUNDLES),
    outbase: globalConfig.rootDir,
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // Less source for each process to read; names stay, so stack traces under core.debug stay readable.
    minifyWhitespace: true,
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'error'
  })
  for (const [variable, source] of Object.entries(BUNDLES)) {
    const bundle = path.join(outdir, source.replace(/\.ts$/, '.cjs'))
    execFileSync(process.execPath, [
      path.join(globalConfig.rootDir, 'testkit', 'start-bundle.mjs'),
      '--cache',
      bundle
    ])
    // The workers jest starts next inherit the environment.
    process.env[variable] = bundle
  }
}
