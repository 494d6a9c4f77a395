/** deploy.manifests: the canary's own objects, applied (create or update) after the routing is pinned. */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import yaml from 'js-yaml'
import type { KubeClient, KubeObject } from '../kube/kube-client.js'
import type { Plan } from '../plan/types.js'
import { ReleaseError } from './context.js'

export function readManifests(plan: Plan, workspace: string): KubeObject[] {
  return (plan.deploy?.manifests ?? []).flatMap(file => {
    let text: string
    try {
      text = readFileSync(path.resolve(workspace, file), 'utf8')
    } catch {
      throw new ReleaseError(
        `deploy.manifests: file '${file}' not found in the workspace; fix the path or check out the repository first`
      )
    }
    let documents: unknown[]
    try {
      documents = yaml.loadAll(text)
    } catch (error) {
      const line = (error as { mark?: { line?: number } }).mark?.line
      throw new ReleaseError(
        `deploy.manifests: '${file}' is not valid YAML${line !== undefined ? ` (line ${line + 1})` : ''}`
      )
    }
    return documents
      .filter((doc): doc is KubeObject => doc !== null && doc !== undefined)
      .map((doc, index) => {
        if (typeof doc !== 'object' || !doc.apiVersion || !doc.kind || !doc.metadata?.name) {
          throw new ReleaseError(
            `deploy.manifests: '${file}' document ${index + 1} needs apiVersion, kind and metadata.name`
          )
        }
        return { ...doc, metadata: { ...doc.metadata, namespace: doc.metadata.namespace ?? plan.namespace } }
      })
  })
}

export async function applyManifests(
  kube: KubeClient,
  manifests: KubeObject[],
  dryRun: boolean,
  log: (line: string) => void
): Promise<void> {
  for (const manifest of manifests) {
    const result = await kube.applyManifest(manifest, { dryRun })
    log(
      `${result} ${manifest.kind} ${manifest.metadata.namespace}/${manifest.metadata.name}${dryRun ? ' (dry run)' : ''}`
    )
  }
}
