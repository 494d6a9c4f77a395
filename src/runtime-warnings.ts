/**
 * Imported first by the entry points. A dependency of the Kubernetes client (tr46, through node-fetch) requires
 * Node's deprecated `punycode` module, and Node 22+ prints DEP0040 on every run; users cannot act on it, so only
 * that warning is dropped.
 */
const emitWarning = process.emitWarning.bind(process)

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1]
  if (code === 'DEP0040') return
  return (emitWarning as (...args: unknown[]) => void)(warning, ...rest)
}) as typeof process.emitWarning
