/**
 * The bits of kube-controller-manager and kubelet the double simulates: Deployment rollouts (ReplicaSet + Pods with
 * an injected istio-proxy sidecar), Deployment status and conditions, pod readiness and restart counts, and the
 * removal of a terminating namespace's contents.
 */
import { RESOURCES, type ResourceDef } from './resources.js'
import { recordUpdate } from './ssa.js'
import { metaOf, type Store } from './store.js'
import { clone, deepEqual, nowIso, randSuffix, templateHash, uid, type Obj } from './util.js'

export interface DeploymentHealth {
  available?: boolean
  restarts?: number
}

const R = (kind: string): ResourceDef => RESOURCES.find(r => r.kind === kind)!
const MANAGER = 'kube-controller-manager'
const ISTIO_PROXY_IMAGE = 'docker.io/istio/proxyv2:1.22.3'

export class Controller {
  readonly health = new Map<string, DeploymentHealth>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly pending = new Map<string, NodeJS.Timeout>()
  private podIp = 2
  closed = false

  constructor(
    private readonly store: Store,
    private readonly delayMs: () => number
  ) {
    store.onDeploymentChange = (ns, name, deleted) =>
      deleted ? this.deploymentDeleted(ns, name) : this.schedule(ns, name)
    store.onPodCreated = (ns, name) => this.later(() => this.startBarePod(ns, name))
    store.onNamespaceDeleted = name => this.later(() => this.store.finishNamespace(name))
  }

  private later(fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      if (!this.closed) fn()
    }, this.delayMs())
    this.timers.add(t)
  }

  close(): void {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    for (const t of this.pending.values()) clearTimeout(t)
    this.timers.clear()
    this.pending.clear()
  }

  schedule(ns: string, name: string): void {
    const key = `${ns}/${name}`
    const prev = this.pending.get(key)
    if (prev) clearTimeout(prev)
    const t = setTimeout(() => {
      this.pending.delete(key)
      if (!this.closed) this.reconcile(ns, name)
    }, this.delayMs())
    this.pending.set(key, t)
  }

  setHealth(ns: string, name: string, h: DeploymentHealth): void {
    const key = `${ns}/${name}`
    this.health.set(key, { ...this.health.get(key), ...h })
    const dep = this.store.raw(R('Deployment'), ns, name)
    // apply now when the current generation has rolled out; a pending rollout applies it when it fires
    if (dep && !this.pending.has(key)) {
      const st = (dep.status ?? {}) as Obj
      if (st.observedGeneration === (dep.metadata as Obj).generation) this.reconcile(ns, name)
    }
  }

  private deploymentDeleted(ns: string, name: string): void {
    const key = `${ns}/${name}`
    const t = this.pending.get(key)
    if (t) clearTimeout(t)
    this.pending.delete(key)
    // the garbage collector takes the ReplicaSets, which take their pods
    for (const rs of this.store.all(R('ReplicaSet'), ns)) {
      const refs = ((rs.metadata as Obj).ownerReferences ?? []) as Obj[]
      if (refs.some(r => r.kind === 'Deployment' && r.name === name)) {
        this.store.delete(R('ReplicaSet'), ns, (rs.metadata as Obj).name as string, { dryRun: false })
      }
    }
  }

  private writeStatus(r: ResourceDef, obj: Obj, status: Obj): void {
    if (deepEqual(obj.status, status)) return
    const next = clone(obj)
    next.status = status
    const md = metaOf(next)
    md.managedFields = recordUpdate(obj, next, MANAGER, r.group ? `${r.group}/v1` : 'v1', true, 'status')
    this.store.replaceRaw(r, next)
  }

  private podStatus(
    podName: string,
    spec: Obj,
    ready: boolean,
    restarts: number,
    appContainers: Set<string>,
    prev?: Obj
  ): Obj {
    const now = nowIso()
    const startedAt = (prev?.startTime as string | undefined) ?? now
    const containers = (spec.containers ?? []) as Obj[]
    const statuses = containers.map((c, i) => {
      const app = appContainers.has(String(c.name))
      const r = app ? restarts : 0
      const ok = app ? ready : true
      const st: Obj = {
        name: c.name,
        state:
          ok || r === 0
            ? { running: { startedAt } }
            : {
                waiting: {
                  reason: 'CrashLoopBackOff',
                  message: `back-off 5m0s restarting failed container=${c.name} pod=${podName}`
                }
              },
        lastState:
          r > 0
            ? {
                terminated: {
                  exitCode: 1,
                  reason: 'Error',
                  startedAt,
                  finishedAt: now,
                  containerID: `containerd://${i}${'0'.repeat(63)}`
                }
              }
            : {},
        ready: ok,
        restartCount: r,
        image: c.image,
        imageID: `${String(c.image).split(':')[0]}@sha256:${'0'.repeat(64)}`,
        containerID: `containerd://${uid().replace(/-/g, '')}${uid().replace(/-/g, '').slice(0, 32)}`,
        started: ok || r === 0
      }
      return st
    })
    const allReady = statuses.every(s => s.ready)
    const cond = (type: string, ok: boolean, reason?: string): Obj => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: startedAt,
      ...(ok || !reason ? {} : { reason })
    })
    return {
      phase: 'Running',
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', true),
        cond('Ready', allReady, 'ContainersNotReady'),
        cond('ContainersReady', allReady, 'ContainersNotReady'),
        cond('PodScheduled', true)
      ],
      hostIP: '172.18.0.2',
      hostIPs: [{ ip: '172.18.0.2' }],
      podIP: prev?.podIP ?? `10.244.0.${(this.podIp++ % 250) + 2}`,
      podIPs: [{ ip: prev?.podIP ?? `10.244.0.${(this.podIp % 250) + 1}` }],
      startTime: startedAt,
      containerStatuses: statuses,
      qosClass: 'BestEffort'
    }
  }

  /** A pod created directly (not by a Deployment) starts running after the rollout delay. */
  private startBarePod(ns: string, name: string): void {
    const pod = this.store.raw(R('Pod'), ns, name)
    if (!pod || ((pod.status as Obj | undefined)?.phase ?? 'Pending') !== 'Pending') return
    const spec = (pod.spec ?? {}) as Obj
    const names = new Set(((spec.containers ?? []) as Obj[]).map(c => String(c.name)))
    this.writeStatus(R('Pod'), pod, this.podStatus(name, spec, true, 0, names))
  }

  reconcile(ns: string, name: string): void {
    const dep = this.store.raw(R('Deployment'), ns, name)
    if (!dep) return
    const dmd = dep.metadata as Obj
    const spec = (dep.spec ?? {}) as Obj
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1
    const template = clone((spec.template ?? {}) as Obj)
    const hash = templateHash(template)
    const rsName = `${name}-${hash}`
    const health = this.health.get(`${ns}/${name}`) ?? {}
    const available = health.available !== false
    const restarts = health.restarts ?? 0
    const tmd = (template.metadata ?? {}) as Obj
    const labels: Record<string, string> = {
      ...((tmd.labels ?? {}) as Record<string, string>),
      'pod-template-hash': hash
    }
    const rsDef = R('ReplicaSet')
    const podDef = R('Pod')

    // ReplicaSets: the current one at `replicas`, older ones at 0
    const owned = this.store
      .all(rsDef, ns)
      .filter(rs => (((rs.metadata as Obj).ownerReferences ?? []) as Obj[]).some(r => r.uid === dmd.uid))
    let rs = owned.find(x => (x.metadata as Obj).name === rsName)
    const revision = String(
      owned.reduce(
        (m, x) =>
          Math.max(
            m,
            Number(
              ((x.metadata as Obj).annotations as Obj | undefined)?.['deployment.kubernetes.io/revision'] ?? 0
            )
          ),
        0
      ) + (rs ? 0 : 1)
    )
    if (!rs) {
      rs = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: rsName,
          namespace: ns,
          uid: uid(),
          generation: 1,
          creationTimestamp: nowIso(),
          labels,
          annotations: {
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + 1),
            'deployment.kubernetes.io/revision': revision
          },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name,
              uid: dmd.uid,
              controller: true,
              blockOwnerDeletion: true
            }
          ]
        },
        spec: {
          replicas,
          selector: {
            matchLabels: {
              ...(((spec.selector as Obj | undefined)?.matchLabels ?? {}) as Obj),
              'pod-template-hash': hash
            }
          },
          template: { ...template, metadata: { ...tmd, labels } }
        },
        status: {}
      }
      this.store.replaceRaw(rsDef, rs)
    } else if ((rs.spec as Obj).replicas !== replicas) {
      const next = clone(rs)
      ;(next.spec as Obj).replicas = replicas
      metaOf(next).generation = Number(metaOf(next).generation ?? 1) + 1
      rs = this.store.replaceRaw(rsDef, next)
    }
    for (const old of owned) {
      if ((old.metadata as Obj).name === rsName) continue
      for (const p of this.store.all(podDef, ns)) {
        if (
          (((p.metadata as Obj).ownerReferences ?? []) as Obj[]).some(
            r => r.uid === (old.metadata as Obj).uid
          )
        ) {
          this.store.delete(podDef, ns, (p.metadata as Obj).name as string, { dryRun: false })
        }
      }
      if ((old.spec as Obj).replicas !== 0) {
        const next = clone(old)
        ;(next.spec as Obj).replicas = 0
        next.status = { replicas: 0, observedGeneration: Number(metaOf(next).generation ?? 1) + 1 }
        metaOf(next).generation = Number(metaOf(next).generation ?? 1) + 1
        this.store.replaceRaw(rsDef, next)
      }
    }

    // Pods of the current ReplicaSet
    const rsUid = (rs.metadata as Obj).uid
    let pods = this.store
      .all(podDef, ns)
      .filter(p => (((p.metadata as Obj).ownerReferences ?? []) as Obj[]).some(r => r.uid === rsUid))
    while (pods.length > replicas) {
      const p = pods.pop()!
      this.store.delete(podDef, ns, (p.metadata as Obj).name as string, { dryRun: false })
    }
    const appContainers = new Set(
      (((template.spec as Obj | undefined)?.containers ?? []) as Obj[]).map(c => String(c.name))
    )
    const inject = String(((tmd.annotations ?? {}) as Obj)['sidecar.istio.io/inject'] ?? 'true') !== 'false'
    while (pods.length < replicas) {
      const podSpec = clone((template.spec ?? {}) as Obj)
      const containers = ((podSpec.containers ?? []) as Obj[]).slice()
      if (inject && !containers.some(c => c.name === 'istio-proxy')) {
        containers.push({
          name: 'istio-proxy',
          image: ISTIO_PROXY_IMAGE,
          args: ['proxy', 'sidecar', '--domain', `${ns}.svc.cluster.local`],
          ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
          resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '10m', memory: '40Mi' } },
          imagePullPolicy: 'IfNotPresent'
        })
      }
      podSpec.containers = containers
      podSpec.nodeName = 'kind-control-plane'
      podSpec.serviceAccountName ??= 'default'
      const podName = `${rsName}-${randSuffix(5)}`
      const annotations: Obj = { ...((tmd.annotations ?? {}) as Obj) }
      if (inject)
        annotations['sidecar.istio.io/status'] = JSON.stringify({
          containers: ['istio-proxy'],
          revision: 'default'
        })
      const pod: Obj = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          generateName: `${rsName}-`,
          namespace: ns,
          uid: uid(),
          creationTimestamp: nowIso(),
          labels: {
            ...labels,
            ...(inject
              ? {
                  'security.istio.io/tlsMode': 'istio',
                  'service.istio.io/canonical-name': labels.app ?? name
                }
              : {})
          },
          annotations,
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: rsName,
              uid: rsUid,
              controller: true,
              blockOwnerDeletion: true
            }
          ]
        },
        spec: podSpec,
        status: {}
      }
      pod.status = this.podStatus(podName, podSpec, available, restarts, appContainers)
      pods.push(this.store.replaceRaw(podDef, pod))
    }
    // kubelet: readiness and restart counts follow the health set by the test
    pods = pods.map(p => {
      const st = this.podStatus(
        String((p.metadata as Obj).name),
        (p.spec ?? {}) as Obj,
        available,
        restarts,
        appContainers,
        (p.status ?? {}) as Obj
      )
      const prev = (p.status ?? {}) as Obj
      const same = deepEqual(
        ((prev.containerStatuses ?? []) as Obj[]).map(c => [c.name, c.ready, c.restartCount]),
        ((st.containerStatuses ?? []) as Obj[]).map(c => [c.name, c.ready, c.restartCount])
      )
      if (!same) {
        // keep container ids stable across status refreshes
        this.writeStatus(podDef, p, st)
        return this.store.raw(podDef, ns, (p.metadata as Obj).name as string)!
      }
      return p
    })

    const readyCount = available ? pods.length : 0
    const cur = this.store.raw(rsDef, ns, rsName)
    if (cur) {
      const rsStatus: Obj = {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        observedGeneration: (cur.metadata as Obj).generation,
        ...(readyCount ? { readyReplicas: readyCount, availableReplicas: readyCount } : {})
      }
      this.writeStatus(rsDef, cur, rsStatus)
    }

    const now = nowIso()
    const prevStatus = (dep.status ?? {}) as Obj
    const prevConds = (prevStatus.conditions ?? []) as Obj[]
    const cond = (type: string, ok: boolean, reason: string, message: string): Obj => {
      const prev = prevConds.find(c => c.type === type)
      const st = ok ? 'True' : 'False'
      return {
        type,
        status: st,
        lastUpdateTime: prev && prev.reason === reason && prev.status === st ? prev.lastUpdateTime : now,
        lastTransitionTime: prev && prev.status === st ? prev.lastTransitionTime : now,
        reason,
        message
      }
    }
    const status: Obj = {
      observedGeneration: dmd.generation,
      replicas: pods.length,
      updatedReplicas: pods.length,
      ...(readyCount ? { readyReplicas: readyCount, availableReplicas: readyCount } : {}),
      ...(pods.length - readyCount > 0 ? { unavailableReplicas: pods.length - readyCount } : {}),
      conditions: available
        ? [
            cond('Available', true, 'MinimumReplicasAvailable', 'Deployment has minimum availability.'),
            cond(
              'Progressing',
              true,
              'NewReplicaSetAvailable',
              `ReplicaSet "${rsName}" has successfully progressed.`
            )
          ]
        : [
            cond(
              'Available',
              false,
              'MinimumReplicasUnavailable',
              'Deployment does not have minimum availability.'
            ),
            cond('Progressing', true, 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`)
          ]
    }
    // keep condition order stable when a condition flips
    const depNow = this.store.raw(R('Deployment'), ns, name)
    if (depNow) this.writeStatus(R('Deployment'), depNow, status)
  }
}
