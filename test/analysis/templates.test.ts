import { describe, expect, it } from '@jest/globals'
import { formatValue } from '../../src/analysis/format.js'
import { rateWindow, rateWindowMs, renderQuery } from '../../src/analysis/templates.js'
import { formatDuration } from '../../src/common/duration.js'
import type { PrometheusTemplate, RouterKind } from '../../src/plan/types.js'
import { bucketMatcher } from '../../src/routers/istio-telemetry.js'
import { ROUTERS } from '../../src/routers/registry.js'
import { testPlan } from './fixtures.js'

/** A built-in template as a router writes it for its telemetry, at the plan's interval. */
function templateQuery(
  template: PrometheusTemplate,
  router: RouterKind,
  intervalMs: number,
  backends?: Record<string, string>
): string {
  const plan = testPlan({ router })
  if (backends) plan.routing = { ...plan.routing, backends }
  return ROUTERS[router].metricTemplate(template, rateWindow(intervalMs), plan)
}

const vars = { service: 'reviews', namespace: 'bookinfo', stable: 'v1', canary: 'v2', intervalMs: 90_000 }

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1s500ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [5_430_000, '1h30m30s']
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

describe('formatValue', () => {
  it('keeps six significant digits without trailing zeros', () => {
    expect(formatValue(0.98996)).toBe('0.98996')
    expect(formatValue(0.9799999999999999)).toBe('0.98')
    expect(formatValue(497.50000000000006)).toBe('497.5')
    expect(formatValue(Infinity)).toBe('Infinity')
  })
})

describe('renderQuery', () => {
  it('substitutes every placeholder, each time it appears', () => {
    const text = 'x{s="$service",ns="$namespace",a="$stable",b="$canary",c="$canary",v="$version"}[$interval]'
    expect(renderQuery(text, { ...vars, version: 'v1' })).toBe(
      'x{s="reviews",ns="bookinfo",a="v1",b="v2",c="v2",v="v1"}[1m30s]'
    )
  })

  it('leaves longer words and unknown placeholders alone', () => {
    expect(renderQuery('$services $canary_x $other $$', vars)).toBe('$services $canary_x $other $$')
  })

  it('substitutes $window in sequential queries and refuses it elsewhere', () => {
    expect(
      renderQuery('avg_over_time(x{v="$version"}[$window])', { ...vars, version: 'v2', window: '1m' })
    ).toBe('avg_over_time(x{v="v2"}[1m])')
    expect(() => renderQuery('x[$window]', vars)).toThrow(
      '$window is only available in sequential compare queries'
    )
  })

  it('refuses $version outside compare queries', () => {
    expect(() => renderQuery('x{v="$version"}', vars)).toThrow(
      '$version is only available in compare queries'
    )
  })
})

describe('templateQuery', () => {
  it('uses a rate window of at least one minute', () => {
    expect(rateWindowMs(500)).toBe(60_000)
    expect(rateWindowMs(90_000)).toBe(90_000)
  })

  it('builds the telemetry v2 success rate of the canary', () => {
    expect(renderQuery(templateQuery('success-rate', 'VirtualService', 30_000), vars)).toBe(
      '(sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="bookinfo",' +
        'destination_service_name="reviews",destination_version="v2",response_code!~"5.."}[1m])) or on() vector(0))' +
        ' / sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="bookinfo",' +
        'destination_service_name="reviews",destination_version="v2"}[1m]))'
    )
  })

  it('builds the telemetry v2 p99 latency in milliseconds', () => {
    expect(renderQuery(templateQuery('latency-p99', 'VirtualService', 120_000), vars)).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{' +
        'reporter="destination",destination_service_namespace="bookinfo",destination_service_name="reviews",' +
        'destination_version="v2"}[2m])))'
    )
  })

  it("builds HTTPRoute's queries on the canary's backend Service, for sidecar and waypoint telemetry", () => {
    const scope =
      'reporter=~"destination|waypoint",destination_service_namespace="bookinfo",destination_service_name="reviews-v2"'
    expect(renderQuery(templateQuery('success-rate', 'HTTPRoute', 30_000), vars)).toBe(
      `(sum(rate(istio_requests_total{${scope},response_code!~"5.."}[1m])) or on() vector(0))` +
        ` / sum(rate(istio_requests_total{${scope}}[1m]))`
    )
    expect(renderQuery(templateQuery('latency-p99', 'HTTPRoute', 30_000), vars)).toBe(
      `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${scope}}[1m])))`
    )
    const named = templateQuery('success-rate', 'HTTPRoute', 30_000, {
      v1: 'reviews-stable',
      v2: 'reviews-next'
    })
    expect(named).toContain('destination_service_name="reviews-next"')
    expect(named).not.toContain('reviews-v2')
  })

  it('builds the Mixer-era queries for RouteRule, with latency converted to milliseconds', () => {
    const scope = 'destination_service="reviews.bookinfo.svc.cluster.local",destination_version="v2"'
    expect(renderQuery(templateQuery('success-rate', 'RouteRule', 30_000), vars)).toBe(
      `(sum(rate(istio_request_count{${scope},response_code!~"5.."}[1m])) or on() vector(0))` +
        ` / sum(rate(istio_request_count{${scope}}[1m]))`
    )
    expect(renderQuery(templateQuery('latency-p99', 'RouteRule', 30_000), vars)).toBe(
      `1000 * histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_bucket{${scope}}[1m])))`
    )
  })
})

describe('versionCounter: every router', () => {
  const counters = [
    { counter: 'requests' },
    { counter: 'failed-requests' },
    { counter: 'latency-count' },
    { counter: 'latency-bucket', upperBoundMs: 250 }
  ] as const

  it.each(Object.keys(ROUTERS) as RouterKind[])(
    '%s selects raw counter series of $version, nothing aggregated or extrapolated',
    router => {
      for (const counter of counters) {
        const selector = ROUTERS[router].versionCounter(counter, '$version', testPlan({ router }))
        expect(selector).toMatch(/^[a-z_]+\{[^{}]*\}$/)
        // The version's own series: the version, or its backend Service (HTTPRoute), as a label value.
        expect(selector).toMatch(/="[a-z0-9-]*\$version"/)
        expect(selector).not.toMatch(/rate|increase|sum|\$canary|\$stable/)
      }
      const buckets = ROUTERS[router].syntax.latencyBucketsMs
      expect(buckets).toContain(250)
      expect([...buckets].sort((a, b) => a - b)).toEqual(buckets)
    }
  )

  it('selects the failed requests by 5xx and a bucket by its bound in the telemetry unit', () => {
    expect(
      renderQuery(ROUTERS.VirtualService.versionCounter({ counter: 'failed-requests' }, 'v2', testPlan()), {
        ...vars,
        version: 'v2'
      })
    ).toBe(
      'istio_requests_total{reporter="destination",destination_service_namespace="bookinfo",' +
        'destination_service_name="reviews",destination_version="v2",response_code=~"5.."}'
    )
    expect(
      ROUTERS.VirtualService.versionCounter(
        { counter: 'latency-bucket', upperBoundMs: 2500 },
        'v2',
        testPlan()
      )
    ).toMatch(/^istio_request_duration_milliseconds_bucket\{.*,le=~"2500\(\\\\\.0\)\?"\}$/)
    expect(
      ROUTERS.RouteRule.versionCounter(
        { counter: 'latency-bucket', upperBoundMs: 2500 },
        'v2',
        testPlan({ router: 'RouteRule' })
      )
    ).toMatch(/^istio_request_duration_bucket\{.*,le=~"2\\\\\.5"\}$/)
  })

  it('matches a bucket whether its bound is written 250 or 250.0, and no other', () => {
    const matches = (bound: number) => {
      const pattern = /le=~"([^"]*)"/.exec(bucketMatcher(bound))![1].replace(/\\\\/g, '\\')
      return (le: string) => new RegExp(`^(?:${pattern})$`).test(le)
    }
    expect(['250', '250.0'].map(matches(250))).toEqual([true, true])
    expect(['2500', '25', '250.5'].map(matches(250))).toEqual([false, false, false])
    expect(['0.25', '0.250', '0x25'].map(matches(0.25))).toEqual([true, false, false])
  })
})
