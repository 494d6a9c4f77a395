/**
 * Starts a CommonJS bundle of the source (test/setup/bundle-source.ts makes them) with V8's code cache, so a
 * process does not parse the whole multi-megabyte bundle again: the tests start the action several hundred times
 * per run, and that parse was the largest single cost of each start.
 *
 *   node start-bundle.mjs BUNDLE [ARGS...]    runs BUNDLE as `node BUNDLE ARGS...` would
 *   node start-bundle.mjs --cache BUNDLE      writes BUNDLE.cache, the code cache the runs above read
 *
 * Built-ins only, no TypeScript: it is what the spawned Node runs first.
 */

import { readFileSync, writeFileSync, renameSync } from 'node:fs'
import Module from 'node:module'
import path from 'node:path'
import vm from 'node:vm'

function compile(bundle, cachedData) {
  // esbuild writes ASCII only, so latin1 reads it faster than utf8 and to the same string. A hashbang is only
  // valid as the first characters of a script, which the module wrapper no longer are.
  const source = readFileSync(bundle, 'latin1').replace(/^#!/, '//')
  return new vm.Script(Module.wrap(source), { filename: bundle, cachedData })
}

function readCache(bundle) {
  try {
    return readFileSync(`${bundle}.cache`)
  } catch {
    // No cache (a bundle made outside the jest setup): V8 parses the source, as `node BUNDLE` does.
    return undefined
  }
}

if (process.argv[2] === '--cache') {
  const bundle = path.resolve(process.argv[3])
  writeFileSync(`${bundle}.cache.tmp`, compile(bundle).createCachedData())
  renameSync(`${bundle}.cache.tmp`, `${bundle}.cache`)
} else {
  const bundle = path.resolve(process.argv[2])
  const wrapper = compile(bundle, readCache(bundle)).runInThisContext()
  const bundleModule = new Module(bundle, null)
  bundleModule.filename = bundle
  bundleModule.paths = Module._nodeModulePaths(path.dirname(bundle))
  // The bundle sees the argv it would see if node had started it directly.
  process.argv.splice(1, 1)
  wrapper.call(
    bundleModule.exports,
    bundleModule.exports,
    Module.createRequire(bundle),
    bundleModule,
    bundle,
    path.dirname(bundle)
  )
}
