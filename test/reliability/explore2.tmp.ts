import { startKubeApi } from '../support/kube-api/index.js'
import { bookinfoObjects } from '../support/bookinfo.js'
import { runAction } from '../support/run-action.js'
import { releaseState, routingSpecs, drift } from './helpers.js'
const PLAN = `
service: reviews
router: RouteRule
stable: v1
canary: v2
stages:
  - name: test-user
    match:
      headers:
        cookie: { regex: "^(.*?;)?(user=test-user)(;.*)?$" }
  - name: beta
    match:
      headers:
        x-beta: { exact: "1" }
  - weight: 50
  - finalize: { deleteStable: true }
analysis:
  bake: ${process.argv[2] ?? '0s'}
`
const api = await startKubeApi()
api.seed(bookinfoObjects({ router: 'RouteRule' }))
const run = async () => { api.clearRequests(); const r = await runAction({ inputs: { plan: PLAN, kubeconfig: api.kubeconfig(), report: 'none' } }); console.log('exit', r.exitCode, r.outputs.stage, r.annotations, api.requests.map(q => `${q.method} ${q.path.split('/').slice(-1)} ${q.status}`)); console.log(JSON.stringify(releaseState(api, 'RouteRule')?.phase), releaseState(api, 'RouteRule')?.stageIndex, Object.keys(routingSpecs(api, 'RouteRule')), 'drift', drift(api, 'RouteRule')) }
await run()
api.injectFault({ method: 'POST', path: /routerules$/, status: 500 })
await run()
await run()
await api.close()
