/** Where the kubeconfig comes from, as kubectl looks for it; file access is injected to keep this pure. */

export type KubeconfigSource =
  /** Read this file and pass its text to the engine. */
  | { kind: 'file'; path: string }
  /** Let the Kubernetes client load it: several KUBECONFIG files to merge, or in-cluster credentials. */
  | { kind: 'client-default' }

export interface KubeconfigLookup {
  /** The `--kubeconfig` option. */
  option?: string
  env: NodeJS.ProcessEnv
  home: string
  /** `:` on POSIX, `;` on Windows, as in KUBECONFIG. */
  delimiter: string
  isFile: (path: string) => boolean
}

/** A kubeconfig problem the user must fix (exit status 1, like any input error). */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KubeconfigError'
  }
}

export function locateKubeconfig(lookup: KubeconfigLookup): KubeconfigSource {
  const { option, env, home, delimiter, isFile } = lookup
  if (option !== undefined) {
    if (!isFile(option)) {
      throw new KubeconfigError(
        `kubeconfig: file '${option}' not found; pass an existing file to --kubeconfig`
      )
    }
    return { kind: 'file', path: option }
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(path => path.trim() !== '')
  if (listed.length > 0) {
    // kubectl skips missing KUBECONFIG entries and merges the others.
    const existing = listed.filter(isFile)
    if (existing.length === 1) return { kind: 'file', path: existing[0] }
    if (existing.length > 1) return { kind: 'client-default' }
    throw new KubeconfigError(
      `kubeconfig: no file of KUBECONFIG exists (${listed.join(delimiter)}); fix KUBECONFIG or pass --kubeconfig <file>`
    )
  }
  const homeConfig = `${home.replace(/[\\/]+$/, '')}/.kube/config`
  if (home && isFile(homeConfig)) return { kind: 'file', path: homeConfig }
  if (env.KUBERNETES_SERVICE_HOST) return { kind: 'client-default' }
  throw new KubeconfigError(
    'kubeconfig: none found; pass --kubeconfig <file>, set KUBECONFIG, or create ~/.kube/config'
  )
}
