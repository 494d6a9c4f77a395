import { afterEach, describe, expect, it } from '@jest/globals'
import { startPrometheus } from '../../testkit/prometheus/prometheus-server.js'

const configuredBinary = process.env.PROMETHEUS_BIN
afterEach(() => {
  if (configuredBinary === undefined) delete process.env.PROMETHEUS_BIN
  else process.env.PROMETHEUS_BIN = configuredBinary
})

describe('startPrometheus', () => {
  it('says how to install Prometheus when the binary is missing', async () => {
    process.env.PROMETHEUS_BIN = '/nonexistent/prometheus'
    await expect(startPrometheus({ targets: ['http://127.0.0.1:9'] })).rejects.toThrow(
      'the prometheus binary was not found: run `bash scripts/test-tools.sh`'
    )
  })
})
