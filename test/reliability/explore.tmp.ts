import { startKubeApi } from '/work/main/test/support/kube-api/index.js'
import { bookinfoObjects, VS_PLAN, SEED_PLAN } from '/work/main/test/support/bookinfo.js'
import { runAction } from '/work/main/test/support/run-action.js'
const api = await startKubeApi()
const router = process.argv[2]
api.seed(bookinfoObjects(router === 'rr' ? { router: 'RouteRule' } : {}))
const plan = router === 'rr' ? SEED_PLAN : VS_PLAN
for (const cmd of (process.argv[3] ?? 'advance,advance,advance,rollback').split(',')) {
  api.clearRequests()
  const r = await runAction({ inputs: { plan, kubeconfig: api.kubeconfig(), report: 'none', command: cmd } })
  console.log('===', cmd, r.exitCode, r.outputs.stage, r.durationMs, r.annotations)
  for (const q of api.requests) console.log(q.method, q.path, q.status, q.verb)
}
await api.close()
