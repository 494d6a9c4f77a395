/**
 * Jest global setup: bundles the action and the CLI from src/ once for the whole run, so every test that starts
 * them as a process (testkit/run-action.ts, the CLI tests) starts plain JavaScript instead of compiling the
 * source through tsx each time (about 0.5 s of CPU instead of 3-4 s per process). The bundles are what
 * tsx would run: the source as it is now, on the Node running jest. This module imports no project file: jest
 * loads it outside its module mapper.
 */
import { build } from 'esbuild'
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
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    // Bundled CommonJS dependencies call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
    },
    logLevel: 'error'
  })
  // The workers jest starts next inherit the environment.
  for (const [variable, source] of Object.entries(BUNDLES))
    process.env[variable] = path.join(outdir, source.replace(/\.ts$/, '.mjs'))
}
