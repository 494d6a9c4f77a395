/** The API surface the double serves: groups, versions and resources, as discovery reports them. */

export interface ResourceDef {
  group: string // '' for core
  versions: string[] // served versions, preferred first
  kind: string
  plural: string
  singular: string
  namespaced: boolean
  shortNames?: string[]
  categories?: string[]
  /** Built-in (compiled into the apiserver) rather than a CustomResourceDefinition. */
  builtin: boolean
  /** Subresources listed in discovery and served. */
  subresources: string[]
  /** Whether metadata.generation is maintained (Deployments, ReplicaSets, all custom resources). */
  hasGeneration: boolean
  /** Whether status is a subresource (then writes to the main resource ignore status). */
  statusSubresource: boolean
  /** Whether PUT without metadata.resourceVersion is allowed (built-ins: yes; custom resources: no). */
  allowUnconditionalUpdate: boolean
  /** Extra table columns for `kubectl get` (name, JSON path or function). */
  columns?: { name: string; type: string; get: (o: Record<string, unknown>) => unknown; priority?: number }[]
}

const BUILTIN_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
const CRD_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch']

function dig(o: unknown, ...path: string[]): unknown {
  let cur = o
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined
    cur = (cur as Record<string, unknown>)[p]
  }
  return cur
}

const builtin = (
  d: Partial<ResourceDef> & Pick<ResourceDef, 'group' | 'versions' | 'kind' | 'plural'>
): ResourceDef => ({
  singular: d.kind.toLowerCase(),
  namespaced: true,
  builtin: true,
  subresources: [],
  hasGeneration: false,
  statusSubresource: false,
  allowUnconditionalUpdate: true,
  ...d
})

const crd = (
  d: Partial<ResourceDef> & Pick<ResourceDef, 'group' | 'versions' | 'kind' | 'plural'>
): ResourceDef => ({
  singular: d.kind.toLowerCase(),
  namespaced: true,
  builtin: false,
  subresources: ['status'],
  hasGeneration: true,
  statusSubresource: true,
  allowUnconditionalUpdate: false,
  ...d
})

export const RESOURCES: ResourceDef[] = [
  builtin({
    group: '',
    versions: ['v1'],
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
    statusSubresource: true,
    columns: [{ name: 'Status', type: 'string', get: o => dig(o, 'status', 'phase') }]
  }),
  builtin({
    group: '',
    versions: ['v1'],
    kind: 'Service',
    plural: 'services',
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
    statusSubresource: true,
    columns: [
      { name: 'Type', type: 'string', get: o => dig(o, 'spec', 'type') },
      { name: 'Cluster-IP', type: 'string', get: o => dig(o, 'spec', 'clusterIP') },
      { name: 'External-IP', type: 'string', get: () => '<none>' },
      {
        name: 'Port(s)',
        type: 'string',
        get: o =>
          ((dig(o, 'spec', 'ports') as Record<string, unknown>[] | undefined) ?? [])
            .map(p => `${p.port}/${p.protocol ?? 'TCP'}`)
            .join(',')
      }
    ]
  }),
  builtin({
    group: '',
    versions: ['v1'],
    kind: 'Pod',
    plural: 'pods',
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status'],
    statusSubresource: true,
    columns: [
      {
        name: 'Ready',
        type: 'string',
        get: o => {
          const cs = (dig(o, 'status', 'containerStatuses') as Record<string, unknown>[] | undefined) ?? []
          return `${cs.filter(c => c.ready).length}/${((dig(o, 'spec', 'containers') as unknown[]) ?? []).length}`
        }
      },
      { name: 'Status', type: 'string', get: o => dig(o, 'status', 'phase') },
      {
        name: 'Restarts',
        type: 'integer',
        get: o =>
          ((dig(o, 'status', 'containerStatuses') as Record<string, unknown>[] | undefined) ?? []).reduce(
            (a, c) => a + Number(c.restartCount ?? 0),
            0
          )
      }
    ]
  }),
  builtin({
    group: '',
    versions: ['v1'],
    kind: 'ConfigMap',
    plural: 'configmaps',
    shortNames: ['cm'],
    columns: [
      {
        name: 'Data',
        type: 'integer',
        get: o =>
          Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length
      }
    ]
  }),
  builtin({
    group: '',
    versions: ['v1'],
    kind: 'Secret',
    plural: 'secrets',
    columns: [
      { name: 'Type', type: 'string', get: o => o.type },
      { name: 'Data', type: 'integer', get: o => Object.keys((o.data as object) ?? {}).length }
    ]
  }),
  builtin({
    group: 'apps',
    versions: ['v1'],
    kind: 'Deployment',
    plural: 'deployments',
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    hasGeneration: true,
    statusSubresource: true,
    columns: [
      {
        name: 'Ready',
        type: 'string',
        get: o => `${dig(o, 'status', 'readyReplicas') ?? 0}/${dig(o, 'spec', 'replicas') ?? 1}`
      },
      { name: 'Up-to-date', type: 'integer', get: o => dig(o, 'status', 'updatedReplicas') ?? 0 },
      { name: 'Available', type: 'integer', get: o => dig(o, 'status', 'availableReplicas') ?? 0 }
    ]
  }),
  builtin({
    group: 'apps',
    versions: ['v1'],
    kind: 'ReplicaSet',
    plural: 'replicasets',
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    hasGeneration: true,
    statusSubresource: true,
    columns: [
      { name: 'Desired', type: 'integer', get: o => dig(o, 'spec', 'replicas') ?? 1 },
      { name: 'Current', type: 'integer', get: o => dig(o, 'status', 'replicas') ?? 0 },
      { name: 'Ready', type: 'integer', get: o => dig(o, 'status', 'readyReplicas') ?? 0 }
    ]
  }),
  crd({
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    kind: 'VirtualService',
    plural: 'virtualservices',
    shortNames: ['vs'],
    categories: ['istio-io', 'networking-istio-io'],
    columns: [
      { name: 'Gateways', type: 'string', get: o => dig(o, 'spec', 'gateways') },
      { name: 'Hosts', type: 'string', get: o => dig(o, 'spec', 'hosts') }
    ]
  }),
  crd({
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    kind: 'DestinationRule',
    plural: 'destinationrules',
    shortNames: ['dr'],
    categories: ['istio-io', 'networking-istio-io'],
    columns: [{ name: 'Host', type: 'string', get: o => dig(o, 'spec', 'host') }]
  }),
  // Istio 0.2-0.7 registered its config kinds as CRDs without subresources.
  crd({
    group: 'config.istio.io',
    versions: ['v1alpha2'],
    kind: 'RouteRule',
    plural: 'routerules',
    categories: ['istio-io', 'networking-istio-io'],
    subresources: [],
    statusSubresource: false
  }),
  crd({
    group: 'gateway.networking.k8s.io',
    versions: ['v1', 'v1beta1'],
    kind: 'HTTPRoute',
    plural: 'httproutes',
    categories: ['gateway-api'],
    columns: [{ name: 'Hostnames', type: 'string', get: o => dig(o, 'spec', 'hostnames') }]
  })
]

export function verbsOf(r: ResourceDef): string[] {
  if (r.kind === 'Namespace') return ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']
  return r.builtin ? BUILTIN_VERBS : CRD_VERBS
}

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version
}

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/')
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) }
}

export function findByPlural(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find(r => r.group === group && r.plural === plural && r.versions.includes(version))
}

export function findByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  const { group, version } = parseApiVersion(apiVersion)
  return RESOURCES.find(r => r.group === group && r.kind === kind && r.versions.includes(version))
}

/** `virtualservices.networking.istio.io` or `configmaps`: the qualified resource used in apiserver messages. */
export function qualifiedResource(r: ResourceDef): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural
}

/** `VirtualService.networking.istio.io` or `ConfigMap`: the qualified kind used in Invalid messages. */
export function qualifiedKind(r: ResourceDef): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind
}

export function groups(): { name: string; versions: string[] }[] {
  const out: { name: string; versions: string[] }[] = []
  for (const r of RESOURCES) {
    if (!r.group) continue
    let g = out.find(x => x.name === r.group)
    if (!g) out.push((g = { name: r.group, versions: [] }))
    for (const v of r.versions) if (!g.versions.includes(v)) g.versions.push(v)
  }
  return out
}
