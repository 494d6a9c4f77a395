import { describe, expect, it } from '@jest/globals'
import { PlanError } from '../../src/plan/plan-error.js'
import { parsePlan } from '../../src/engine/plan-loader.js'
import { HEAD, STAGES, TRAFFIC_FEATURE_BAD_PLANS, withStages, type BadPlan } from './bad-plan-cases.js'

/** A valid plan with one check. */
function withCheck(check: string): string {
  return `${HEAD}${STAGES}analysis:\n  checks:\n    - name: c\n      ${check}\n`
}

/** A valid plan with `analysis` fields set. */
function withAnalysis(fields: string): string {
  return `${HEAD}${STAGES}analysis: { ${fields} }\n`
}

const BAD_PLANS: BadPlan[] = [
  // The plan as a whole
  {
    what: 'bad YAML',
    yaml: 'service: reviews\nstages: [1,\nstable: v1',
    field: '',
    message: 'YAML syntax error at line 3',
    line: 3
  },
  {
    what: 'duplicate YAML key',
    yaml: `${HEAD}service: again\n${STAGES}`,
    field: '',
    message: 'line 4',
    line: 4
  },
  { what: 'empty plan', yaml: '# nothing\n', field: '', message: 'the plan is empty' },
  { what: 'plan not a mapping', yaml: '- weight: 5\n', field: '', message: 'must be a YAML mapping' },
  {
    what: 'unknown top-level key',
    yaml: `${HEAD}${STAGES}analisys: {}\n`,
    field: 'analisys',
    message: "did you mean 'analysis'?",
    line: 6
  },
  {
    what: 'unknown key with nothing close',
    yaml: `${HEAD}${STAGES}colour: red\n`,
    field: 'colour',
    message: 'known keys: service, namespace'
  },
  // Names
  {
    what: 'missing service',
    yaml: `stable: v1\ncanary: v2\n${STAGES}`,
    field: 'service',
    message: 'is required'
  },
  {
    what: 'service not a DNS label',
    yaml: `service: Reviews\nstable: v1\ncanary: v2\n${STAGES}`,
    field: 'service',
    message: "try 'reviews'"
  },
  {
    what: 'service of the wrong type',
    yaml: `service: [reviews]\nstable: v1\ncanary: v2\n${STAGES}`,
    field: 'service',
    message: 'must be a string; got a list'
  },
  {
    what: 'namespace too long',
    yaml: `${HEAD}namespace: ${'n'.repeat(64)}\n${STAGES}`,
    field: 'namespace',
    message: 'at most 63 characters'
  },
  {
    what: 'stable equal to canary',
    yaml: `service: reviews\nstable: v1\ncanary: v1\n${STAGES}`,
    field: 'canary',
    message: "must differ from stable ('v1')"
  },
  {
    what: 'canary as a number',
    yaml: `service: reviews\nstable: v1\ncanary: 2\n${STAGES}`,
    field: 'canary',
    message: "must be a string; got the number 2; quote it: '2'"
  },
  {
    what: 'canary not a label value',
    yaml: `service: reviews\nstable: v1\ncanary: v2!\n${STAGES}`,
    field: 'canary',
    message: 'must be a Kubernetes label value'
  },
  {
    what: 'bad versionLabel',
    yaml: `${HEAD}versionLabel: my version\n${STAGES}`,
    field: 'versionLabel',
    message: 'label key'
  },
  {
    what: 'unknown router',
    yaml: `${HEAD}router: Virtualservice\n${STAGES}`,
    field: 'router',
    message: "did you mean 'VirtualService'?"
  },
  {
    what: 'routing.route with RouteRule',
    yaml: `${HEAD}router: RouteRule\nrouting: { route: primary }\n${STAGES}`,
    field: 'routing.route',
    message: 'RouteRule has no named routes'
  },
  {
    what: 'routing.name with a dot',
    yaml: `${HEAD}routing: { name: reviews.default }\n${STAGES}`,
    field: 'routing.name',
    message: 'DNS-1123 label'
  },
  // Stages
  { what: 'missing stages', yaml: HEAD, field: 'stages', message: 'is required' },
  {
    what: 'empty stages',
    yaml: `${HEAD}stages: []\n`,
    field: 'stages',
    message: 'must list at least one stage'
  },
  {
    what: 'stages not a list',
    yaml: `${HEAD}stages: { weight: 5 }\n`,
    field: 'stages',
    message: 'must be a list; got a mapping'
  },
  {
    what: 'stage with no kind',
    yaml: withStages('name: idle'),
    field: 'stages[0]',
    message: 'needs one of match, weight, mirror, finalize'
  },
  {
    what: 'match and weight in one stage',
    yaml: withStages('weight: 5\n    match: { headers: { x-user: { exact: a } } }'),
    field: 'stages[0].match',
    message: 'has both weight and match; keep exactly one of match, weight, mirror, finalize'
  },
  {
    what: 'weight above 100',
    yaml: withStages('weight: 101'),
    field: 'stages[0].weight',
    message: 'must be an integer from 1 to 100; got 101'
  },
  {
    what: 'weight zero',
    yaml: withStages('weight: 0'),
    field: 'stages[0].weight',
    message: 'from 1 to 100; got 0'
  },
  {
    what: 'fractional weight',
    yaml: withStages('weight: 12.5'),
    field: 'stages[0].weight',
    message: 'must be an integer'
  },
  {
    what: 'weight as a string',
    yaml: withStages('weight: "50%"'),
    field: 'stages[0].weight',
    message: "got the string '50%'"
  },
  {
    what: 'weights not increasing',
    yaml: withStages('weight: 10', 'weight: 50', 'weight: 20'),
    field: 'stages[2].weight',
    message: 'must be greater than the previous weight stage (50); got 20',
    line: 7
  },
  {
    what: 'weight repeated',
    yaml: withStages('weight: 10', 'weight: 10'),
    field: 'stages[1].weight',
    message: 'previous weight stage (10)'
  },
  {
    what: 'duplicate stage names',
    yaml: withStages('weight: 10\n    name: ramp', 'weight: 20\n    name: ramp'),
    field: 'stages[1].name',
    message: "duplicate stage name 'ramp' (also stages[0].name)"
  },
  {
    what: 'duplicate default stage name',
    yaml: withStages('match: { headers: { a: { exact: x } } }', 'name: test-user\n    weight: 5'),
    field: 'stages[1].name',
    message: "duplicate stage name 'test-user'"
  },
  {
    what: 'finalize not last',
    yaml: withStages('finalize: {}', 'weight: 50'),
    field: 'stages[0].finalize',
    message: 'must be the last stage'
  },
  {
    what: 'two finalize stages',
    yaml: withStages('finalize: {}', 'finalize: {}'),
    field: 'stages[0].finalize',
    message: 'must be the last stage'
  },
  {
    what: 'finalize option misspelt',
    yaml: withStages('finalize: { deletestable: true }'),
    field: 'stages[0].finalize.deletestable',
    message: "did you mean 'deleteStable'?"
  },
  {
    what: 'deleteStable not a boolean',
    yaml: withStages('finalize: { deleteStable: "yes" }'),
    field: 'stages[0].finalize.deleteStable',
    message: 'must be true or false'
  },
  {
    what: 'misspelt stage key',
    yaml: withStages('wieght: 20'),
    field: 'stages[0].wieght',
    message: "unknown key 'wieght'; did you mean 'weight'?",
    line: 5
  },
  {
    what: 'stage name not a label',
    yaml: withStages('weight: 5\n    name: Ramp Up'),
    field: 'stages[0].name',
    message: 'DNS-1123 label'
  },
  {
    what: 'percent name on a match stage',
    yaml: withStages('name: 5%\n    match: { headers: { a: { exact: x } } }'),
    field: 'stages[0].name',
    message: 'DNS-1123 label'
  },
  {
    what: 'match stage named default with RouteRule',
    yaml: `${HEAD}router: RouteRule\nstages:\n  - name: default\n    match: { headers: { a: { exact: x } } }\n`,
    field: 'stages[0].name',
    message: "taken by the RouteRule 'reviews-default'"
  },
  {
    what: 'default match stage name too long for RouteRule',
    yaml: `${HEAD}router: RouteRule\nrouting: { name: ${'r'.repeat(54)} }\nstages:\n  - match: { headers: { a: { exact: x } } }\n`,
    field: 'stages[0].name',
    message: 'longer than 63 characters'
  },
  {
    what: 'bare-number bake',
    yaml: withStages('weight: 5\n    bake: 30'),
    field: 'stages[0].bake',
    message: "'30' has no unit; add one"
  },
  {
    what: 'bad bake duration',
    yaml: withStages('weight: 5\n    bake: 5 minutes'),
    field: 'stages[0].bake',
    message: 'is not a duration'
  },
  // Header matches
  {
    what: 'match without headers',
    yaml: withStages('match: {}'),
    field: 'stages[0].match.headers',
    message: 'is required'
  },
  {
    what: 'empty headers',
    yaml: withStages('match: { headers: {} }'),
    field: 'stages[0].match.headers',
    message: 'must name at least one header'
  },
  {
    what: 'uppercase header name',
    yaml: withStages('match: { headers: { Cookie: { exact: a } } }'),
    field: 'stages[0].match.headers.Cookie',
    message: "must be lowercase (Istio matches lowercased names); write 'cookie'"
  },
  {
    what: 'header match as a string',
    yaml: withStages('match: { headers: { cookie: user=test } }'),
    field: 'stages[0].match.headers.cookie',
    message: 'must be a mapping'
  },
  {
    what: 'exact and regex in one header',
    yaml: withStages('match: { headers: { cookie: { exact: a, regex: b } } }'),
    field: 'stages[0].match.headers.cookie.regex',
    message: 'has both exact and regex'
  },
  {
    what: 'unknown string match kind',
    yaml: withStages('match: { headers: { cookie: { suffix: a } } }'),
    field: 'stages[0].match.headers.cookie.suffix',
    message: "unknown key 'suffix'"
  },
  {
    what: 'lookbehind regex',
    yaml: withStages('match: { headers: { cookie: { regex: "(?<=user=)test" } } }'),
    field: 'stages[0].match.headers.cookie.regex',
    message: 'Envoy uses RE2'
  },
  {
    what: 'lookahead regex',
    yaml: withStages('match: { headers: { cookie: { regex: "user(?=test)" } } }'),
    field: 'stages[0].match.headers.cookie.regex',
    message: 'not a valid RE2 regex'
  },
  {
    what: 'backreference regex',
    yaml: withStages('match: { headers: { cookie: { regex: "(a)\\\\1" } } }'),
    field: 'stages[0].match.headers.cookie.regex',
    message: 'Envoy uses RE2'
  },
  // Deploy
  {
    what: 'absolute manifest path',
    yaml: `${HEAD}deploy: { manifests: [/etc/k8s.yaml] }\n${STAGES}`,
    field: 'deploy.manifests[0]',
    message: 'must be relative to the workspace'
  },
  {
    what: 'manifest escaping the workspace',
    yaml: `${HEAD}deploy: { manifests: [k8s/../../x.yaml] }\n${STAGES}`,
    field: 'deploy.manifests[0]',
    message: 'must stay inside the workspace'
  },
  {
    what: 'no manifests',
    yaml: `${HEAD}deploy: { manifests: [] }\n${STAGES}`,
    field: 'deploy.manifests',
    message: 'at least one manifest'
  },
  {
    what: 'zero deploy timeout',
    yaml: `${HEAD}deploy: { manifests: [a.yaml], timeout: 0s }\n${STAGES}`,
    field: 'deploy.timeout',
    message: 'must be longer than 0s'
  },
  // Analysis
  {
    what: 'failureLimit zero',
    yaml: withAnalysis('failureLimit: 0'),
    field: 'analysis.failureLimit',
    message: 'must be an integer >= 1; got 0'
  },
  {
    what: 'verify window shorter than the interval',
    yaml: withAnalysis('interval: 1m, verifyWindow: 30s'),
    field: 'analysis.verifyWindow',
    message: 'must be at least analysis.interval (1m)'
  },
  {
    what: 'bare-number interval',
    yaml: withAnalysis('interval: 30'),
    field: 'analysis.interval',
    message: "'30' has no unit"
  },
  {
    what: 'unknown onNoData',
    yaml: withAnalysis('onNoData: skip'),
    field: 'analysis.onNoData',
    message: 'must be one of fail | ignore'
  },
  {
    what: 'misspelt onCancel',
    yaml: withAnalysis('onCancel: rollbak'),
    field: 'analysis.onCancel',
    message: "did you mean 'rollback'?"
  },
  {
    what: 'misspelt analysis key',
    yaml: withAnalysis('failurelimit: 2'),
    field: 'analysis.failurelimit',
    message: "did you mean 'failureLimit'?"
  },
  {
    what: 'duplicate check names',
    yaml: `${HEAD}${STAGES}analysis:\n  checks:\n    - { name: pods, kubernetes: {} }\n    - { name: pods, kubernetes: {} }\n`,
    field: 'analysis.checks[1].name',
    message: "duplicate check name 'pods'"
  },
  {
    what: 'check without a name',
    yaml: `${HEAD}${STAGES}analysis:\n  checks:\n    - kubernetes: {}\n`,
    field: 'analysis.checks[0].name',
    message: 'is required'
  },
  {
    what: 'check with two kinds',
    yaml: withCheck('kubernetes: {}\n      http: { url: "http://a" }'),
    field: 'analysis.checks[0].http',
    message: 'has both kubernetes and http'
  },
  {
    what: 'check with no kind',
    yaml: `${HEAD}${STAGES}analysis:\n  checks:\n    - name: idle\n`,
    field: 'analysis.checks[0]',
    message: 'needs one of prometheus, http, kubernetes, compare'
  },
  {
    what: 'negative maxRestarts',
    yaml: withCheck('kubernetes: { maxRestarts: -1 }'),
    field: 'analysis.checks[0].kubernetes.maxRestarts',
    message: 'must be an integer >= 0'
  },
  // Prometheus
  {
    what: 'prometheus without url',
    yaml: withCheck('prometheus: { template: success-rate, min: 0.9 }'),
    field: 'analysis.checks[0].prometheus.url',
    message: 'is required'
  },
  {
    what: 'prometheus url not http',
    yaml: withCheck('prometheus: { url: "ftp://prom", template: success-rate, min: 0.9 }'),
    field: 'analysis.checks[0].prometheus.url',
    message: 'must be an http:// or https:// URL, e.g.'
  },
  {
    what: 'prometheus url with a password',
    yaml: withCheck('prometheus: { url: "http://u:hunter2@prom", template: success-rate, min: 0.9 }'),
    field: 'analysis.checks[0].prometheus.url',
    message: 'must not contain credentials'
  },
  {
    what: 'query and template together',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, template: success-rate, min: 0.9 }'),
    field: 'analysis.checks[0].prometheus.template',
    message: 'keep exactly one of query, template'
  },
  {
    what: 'unknown template',
    yaml: withCheck('prometheus: { url: "http://prom", template: sucess-rate, min: 0.9 }'),
    field: 'analysis.checks[0].prometheus.template',
    message: "did you mean 'success-rate'?"
  },
  {
    what: 'no bounds',
    yaml: withCheck('prometheus: { url: "http://prom", query: up }'),
    field: 'analysis.checks[0].prometheus',
    message: 'needs min, max or both'
  },
  {
    what: 'min above max',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: 5, max: 1 }'),
    field: 'analysis.checks[0].prometheus.min',
    message: 'must not be greater than max (1); got 5'
  },
  {
    what: 'success rate as a percent',
    yaml: withCheck('prometheus: { url: "http://prom", template: success-rate, min: 99 }'),
    field: 'analysis.checks[0].prometheus.min',
    message: 'ratio from 0 to 1'
  },
  {
    what: 'min as a string',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: "0.9" }'),
    field: 'analysis.checks[0].prometheus.min',
    message: 'must be a finite number'
  },
  {
    what: 'inline bearer token',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: 1, bearerToken: abc }'),
    field: 'analysis.checks[0].prometheus.bearerToken',
    message: 'put the secret in an environment variable'
  },
  {
    what: 'inline password',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: 1, password: abc }'),
    field: 'analysis.checks[0].prometheus.password',
    message: 'name it with bearerTokenEnv, or usernameEnv and passwordEnv'
  },
  {
    what: 'inline authorization header for prometheus',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: 1, headers: { authorization: x } }'),
    field: 'analysis.checks[0].prometheus.headers',
    message: 'must not be written in the plan'
  },
  {
    what: 'secret in an env-name field',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: 1, bearerTokenEnv: "eyJ.abc-def" }'),
    field: 'analysis.checks[0].prometheus.bearerTokenEnv',
    message: 'not the secret itself'
  },
  {
    what: "the runner's inputs as a credential",
    yaml: withCheck(
      'prometheus: { url: "http://prom", query: up, min: 1, bearerTokenEnv: INPUT_KUBECONFIG }'
    ),
    field: 'analysis.checks[0].prometheus.bearerTokenEnv',
    message:
      "names INPUT_KUBECONFIG, one of the runner's own variables (INPUT_*, ACTIONS_*, GITHUB_*, RUNNER_*, STATE_*)"
  },
  {
    what: "the runner's runtime token as a header",
    yaml: withCheck('http: { url: "http://a", headersFromEnv: { x-token: actions_runtime_token } }'),
    field: 'analysis.checks[0].http.headersFromEnv.x-token',
    message: 'put the credential in a variable of your own'
  },
  {
    what: 'the workflow token as basic-auth password',
    yaml: withCheck(
      'prometheus: { url: "http://prom", query: up, min: 1, usernameEnv: U, passwordEnv: GITHUB_TOKEN }'
    ),
    field: 'analysis.checks[0].prometheus.passwordEnv',
    message: "names GITHUB_TOKEN, one of the runner's own variables"
  },
  {
    what: 'username without password',
    yaml: withCheck('prometheus: { url: "http://prom", query: up, min: 1, usernameEnv: U }'),
    field: 'analysis.checks[0].prometheus.passwordEnv',
    message: 'go together'
  },
  {
    what: 'unknown placeholder',
    yaml: withCheck('prometheus: { url: "http://prom", query: "up{svc=\\"$servce\\"}", min: 1 }'),
    field: 'analysis.checks[0].prometheus.query',
    message:
      "unknown placeholder '$servce'; allowed: $service, $namespace, $stable, $canary, $interval. did you mean '$service'?"
  },
  {
    what: '$version outside compare',
    yaml: withCheck('prometheus: { url: "http://prom", query: "up{v=\\"$version\\"}", min: 1 }'),
    field: 'analysis.checks[0].prometheus.query',
    message: '$version is only available in compare checks'
  },
  // HTTP
  {
    what: 'http without url',
    yaml: withCheck('http: { method: GET }'),
    field: 'analysis.checks[0].http.url',
    message: 'is required'
  },
  {
    what: 'unknown http method',
    yaml: withCheck('http: { url: "http://a", method: FETCH }'),
    field: 'analysis.checks[0].http.method',
    message: 'must be one of GET | HEAD'
  },
  {
    what: 'status code out of range',
    yaml: withCheck('http: { url: "http://a", expectStatus: [200, 700] }'),
    field: 'analysis.checks[0].http.expectStatus[1]',
    message: 'from 100 to 599; got 700'
  },
  {
    what: 'status code not in a list',
    yaml: withCheck('http: { url: "http://a", expectStatus: 200 }'),
    field: 'analysis.checks[0].http.expectStatus',
    message: 'must be a list; got the number 200'
  },
  {
    what: 'expectBody not RE2',
    yaml: withCheck('http: { url: "http://a", expectBody: "(?<!x)y" }'),
    field: 'analysis.checks[0].http.expectBody',
    message: 'Envoy uses RE2'
  },
  {
    what: 'inline authorization header',
    yaml: withCheck('http: { url: "http://a", headers: { Authorization: "Bearer abc" } }'),
    field: 'analysis.checks[0].http.headers.Authorization',
    message: 'put the secret in an environment variable and name it: headersFromEnv'
  },
  {
    what: 'header both inline and from env',
    yaml: withCheck('http: { url: "http://a", headers: { x-user: a }, headersFromEnv: { X-User: USER } }'),
    field: 'analysis.checks[0].http.headersFromEnv',
    message: "sets 'X-User', which headers also sets"
  },
  {
    what: 'http timeout bare number',
    yaml: withCheck('http: { url: "http://a", timeout: 5 }'),
    field: 'analysis.checks[0].http.timeout',
    message: "'5' has no unit"
  },
  // Compare
  {
    what: 'compare query without $version',
    yaml: withCheck('compare: { prometheus: { url: "http://prom", query: up } }'),
    field: 'analysis.checks[0].compare.prometheus.query',
    message: 'must contain $version'
  },
  {
    what: 'compare without prometheus',
    yaml: withCheck('compare: { tolerance: 0.1 }'),
    field: 'analysis.checks[0].compare.prometheus',
    message: 'is required'
  },
  {
    what: 'compare tolerance zero',
    yaml: withCheck(
      'compare: { prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}" }, tolerance: 0 }'
    ),
    field: 'analysis.checks[0].compare.tolerance',
    message: 'must be greater than 0'
  },
  {
    what: 'compare confidence 1',
    yaml: withCheck(
      'compare: { prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}" }, confidence: 1 }'
    ),
    field: 'analysis.checks[0].compare.confidence',
    message: 'greater than 0.5 and less than 1'
  },
  {
    what: 'compare direction misspelt',
    yaml: withCheck(
      'compare: { prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}" }, direction: increse }'
    ),
    field: 'analysis.checks[0].compare.direction',
    message: "did you mean 'increase'?"
  },
  // Compare, sequential
  {
    what: 'compare method unknown',
    yaml: withCheck('compare: { method: sprt, prometheus: { url: "http://prom", template: success-rate } }'),
    field: 'analysis.checks[0].compare.method',
    message: "must be one of mann-whitney | sequential; got 'sprt'"
  },
  {
    what: 'sequential alpha 0',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, alpha: 0 }'
    ),
    field: 'analysis.checks[0].compare.alpha',
    message: 'must be greater than 0 and at most 0.5 (e.g. 0.05); got 0'
  },
  {
    what: 'sequential alpha above 0.5',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, alpha: 0.6 }'
    ),
    field: 'analysis.checks[0].compare.alpha',
    message: 'at most 0.5'
  },
  {
    what: 'minSamples below 2',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, minSamples: 1 }'
    ),
    field: 'analysis.checks[0].compare.minSamples',
    message: 'must be an integer >= 2; got 1'
  },
  {
    what: 'minSamples not an integer (mann-whitney too)',
    yaml: withCheck(
      'compare: { prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}" }, minSamples: 2.5 }'
    ),
    field: 'analysis.checks[0].compare.minSamples',
    message: 'must be an integer >= 2'
  },
  {
    what: 'sequential query that is not per version',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", query: "x[$window]" } }'
    ),
    field: 'analysis.checks[0].compare.prometheus.query',
    message: 'must contain $version: a sequential check compares the versions'
  },
  {
    what: 'sequential with both template and query',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate, query: "x{v=\\"$version\\"}" } }'
    ),
    field: 'analysis.checks[0].compare.prometheus.query',
    message: 'has both template and query; keep exactly one of template, query'
  },
  {
    what: 'sequential with neither template nor query',
    yaml: withCheck('compare: { method: sequential, prometheus: { url: "http://prom" } }'),
    field: 'analysis.checks[0].compare.prometheus',
    message: 'needs one of template, query'
  },
  {
    what: 'sequential template of one value',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: latency-p99 } }'
    ),
    field: 'analysis.checks[0].compare.prometheus.template',
    message: "must be one of success-rate | slow-requests; got 'latency-p99'"
  },
  {
    what: 'slow-requests without slowerThan',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: slow-requests } }'
    ),
    field: 'analysis.checks[0].compare.prometheus.slowerThan',
    message: 'is required: the latency above which a request is slow'
  },
  {
    what: 'slowerThan not a bucket boundary',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: slow-requests, slowerThan: 300ms } }'
    ),
    field: 'analysis.checks[0].compare.prometheus.slowerThan',
    message:
      "must be an upper bound of a bucket of the router's latency histogram, one of 1ms, 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2s500ms, 5s"
  },
  {
    what: 'slowerThan not a bucket of the Mixer-era histogram',
    yaml: `${HEAD}router: RouteRule\n${STAGES}analysis:\n  checks:\n    - name: c\n      compare: { method: sequential, prometheus: { url: "http://prom", template: slow-requests, slowerThan: 1ms } }\n`,
    field: 'analysis.checks[0].compare.prometheus.slowerThan',
    message: 'one of 5ms, 10ms, 25ms'
  },
  {
    what: 'slowerThan with success-rate',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate, slowerThan: 250ms } }'
    ),
    field: 'analysis.checks[0].compare.prometheus.slowerThan',
    message: 'is for template: slow-requests'
  },
  {
    what: 'quantile outside (0, 1)',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}" }, quantile: 1 }'
    ),
    field: 'analysis.checks[0].compare.quantile',
    message: 'must be greater than 0 and less than 1; got 1'
  },
  {
    what: 'quantile with a template',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, quantile: 0.9 }'
    ),
    field: 'analysis.checks[0].compare.quantile',
    message: "is for a query's samples"
  },
  {
    what: 'sequential tolerance 1 with decrease',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, direction: decrease, tolerance: 1 }'
    ),
    field: 'analysis.checks[0].compare.tolerance',
    message: 'must be below 1 with direction decrease'
  },
  {
    what: 'compare tolerance negative',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, tolerance: -0.1 }'
    ),
    field: 'analysis.checks[0].compare.tolerance',
    message: 'must be at least 0; got -0.1'
  },
  {
    what: 'confidence with method sequential',
    yaml: withCheck(
      'compare: { method: sequential, prometheus: { url: "http://prom", template: success-rate }, confidence: 0.98 }'
    ),
    field: 'analysis.checks[0].compare.confidence',
    message: 'is for method: mann-whitney; a sequential check takes alpha instead'
  },
  {
    what: 'alpha with method mann-whitney',
    yaml: withCheck(
      'compare: { prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}" }, alpha: 0.05 }'
    ),
    field: 'analysis.checks[0].compare.alpha',
    message: 'is for method: sequential; method mann-whitney takes confidence'
  },
  {
    what: 'template with method mann-whitney',
    yaml: withCheck('compare: { prometheus: { url: "http://prom", template: success-rate } }'),
    field: 'analysis.checks[0].compare.prometheus.template',
    message: 'needs method: sequential'
  },
  {
    what: '$window in a mann-whitney query',
    yaml: withCheck('compare: { prometheus: { url: "http://prom", query: "x{v=\\"$version\\"}[$window]" } }'),
    field: 'analysis.checks[0].compare.prometheus.query',
    message: '$window is only available in compare checks with method: sequential'
  },
  {
    what: '$window in a prometheus check',
    yaml: withCheck('prometheus: { url: "http://prom", query: "rate(x[$window])", min: 1 }'),
    field: 'analysis.checks[0].prometheus.query',
    message: '$window is only available in compare checks with method: sequential'
  },
  // Several routing objects
  {
    what: 'routing list empty',
    yaml: `${HEAD}routing: []\n${STAGES}`,
    field: 'routing',
    message: 'must list at least one routing object'
  },
  {
    what: 'routing list entry without a name',
    yaml: `${HEAD}routing:\n  - name: reviews\n  - namespace: istio-ingress\n${STAGES}`,
    field: 'routing[1].name',
    message: 'is required: the name of the routing object'
  },
  {
    what: 'routing list with a duplicate object',
    yaml: `${HEAD}routing:\n  - name: reviews\n  - name: reviews\n    namespace: default\n${STAGES}`,
    field: 'routing[1].name',
    message: "duplicate routing object name 'default/reviews'"
  },
  {
    what: 'routing entry of another kind',
    yaml: `${HEAD}routing:\n  - name: reviews\n  - name: bookinfo\n    kind: HTTPRoute\n${STAGES}`,
    field: 'routing[1].kind',
    message: "is 'HTTPRoute', but the plan's router is VirtualService"
  },
  {
    what: 'routing list on RouteRule',
    yaml: `${HEAD}router: RouteRule\nrouting:\n  - name: reviews\n  - name: ratings\n${STAGES}`,
    field: 'routing[1].name',
    message: 'RouteRule takes one routing object'
  },
  {
    what: 'routing namespace not a DNS label',
    yaml: `${HEAD}routing:\n  - name: reviews\n    namespace: Istio_Ingress\n${STAGES}`,
    field: 'routing[0].namespace',
    message: 'must be a DNS-1123 label'
  },
  // Mirror stages and session affinity
  ...TRAFFIC_FEATURE_BAD_PLANS,
  {
    what: 'mirror percent not a number',
    yaml: withStages('mirror: half', 'weight: 5'),
    field: 'stages[0].mirror',
    message: 'must be a percent from 1 to 100, or { percent, methods }'
  },
  {
    what: 'mirror method unknown',
    yaml: withStages('mirror: { percent: 50, methods: [GET, FETCH] }', 'weight: 5'),
    field: 'stages[0].mirror.methods[1]',
    message: "got 'FETCH'"
  },
  {
    what: 'mirror share on RouteRule',
    yaml: `${HEAD}router: RouteRule\nstages:\n  - mirror: 50\n  - weight: 5\n`,
    field: 'stages[0].mirror',
    message: 'RouteRule mirrors every request of its rule'
  },
  {
    what: 'sessionAffinity maxAge in milliseconds',
    yaml: `${HEAD}sessionAffinity: { maxAge: 1500ms }\n${STAGES}`,
    field: 'sessionAffinity.maxAge',
    message: 'must be whole seconds'
  },
  {
    what: 'sessionAffinity on RouteRule',
    yaml: `${HEAD}router: RouteRule\nsessionAffinity: {}\n${STAGES}`,
    field: 'sessionAffinity',
    message: 'RouteRule cannot set a response cookie'
  },
  // No data
  {
    what: 'onNoData unknown on a check',
    yaml: withCheck('onNoData: skip\n      kubernetes: {}'),
    field: 'analysis.checks[0].onNoData',
    message: 'must be one of fail | ignore | inconclusive'
  }
]

describe('parsePlan refuses bad plans', () => {
  it('has a broad table of cases', () => {
    expect(BAD_PLANS.length).toBeGreaterThanOrEqual(40)
  })

  it.each(BAD_PLANS.map(badPlan => [badPlan.what, badPlan] as const))(
    '%s',
    (_, { yaml, field, message, line }) => {
      let caught: unknown
      try {
        parsePlan(yaml)
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(PlanError)
      const error = caught as PlanError
      expect(error.field).toBe(field)
      expect(error.message).toContain(message)
      expect(error.message.startsWith(field === '' ? 'plan: ' : `plan: ${field}: `)).toBe(true)
      if (line !== undefined) expect(error.line).toBe(line)
    }
  )
})
