import { describe, expect, it } from '@jest/globals'
import { makeStyle } from '../../src/cli/render.js'
import { formatProgress } from '../../src/analysis/progress.js'
import type { ProgressEvent } from '../../src/analysis/types.js'
import { type OutputStream, TerminalLogger } from '../../src/cli/terminal-logger.js'

/** A watch evaluation of `check` at `offsetMs` of `durationMs`; `failing` gives its failure message. */
function evaluated(
  check: string,
  value: number,
  offsetMs: number,
  durationMs: number,
  failing?: string
): ProgressEvent {
  return {
    evaluation: {
      check,
      kind: 'prometheus',
      at: '2026-01-01T00:00:00.000Z',
      value,
      threshold: '>= 0.99',
      verdict: failing ? 'fail' : 'pass',
      message: failing ?? 'ok'
    },
    offsetMs,
    durationMs,
    countsAsFailure: failing !== undefined,
    consecutiveFailures: failing ? 1 : 0,
    failureLimit: 1
  }
}

class FakeStream implements OutputStream {
  text = ''
  constructor(
    readonly isTTY: boolean,
    readonly columns?: number
  ) {}
  write(text: string): boolean {
    this.text += text
    return true
  }
}

function setup(interactive: boolean, verbose = false, redact?: (text: string) => string) {
  const out = new FakeStream(interactive, 60)
  const err = new FakeStream(interactive)
  const logger = new TerminalLogger({
    out,
    err,
    style: makeStyle(false),
    verbose,
    interactive,
    redact,
    spinnerIntervalMs: 0
  })
  return { out, err, logger }
}

const CLEAR = '\r\u001b[2K'

describe('formatProgress', () => {
  it("writes the watch's evaluations as lines", () => {
    expect(formatProgress(evaluated('success-rate', 0.997, 30_000, 300_000))).toBe(
      '[30s/5m] success-rate 0.997 >= 0.99 ok'
    )
    expect(formatProgress(evaluated('success-rate', 0.5, 60_000, 60_000, 'too low'))).toBe(
      '[1m/1m] success-rate 0.5 >= 0.99 FAIL (1/1): too low'
    )
    const noData = evaluated('smoke', 0, 90_000, 3_600_000)
    noData.evaluation = { ...noData.evaluation, value: null, verdict: 'nodata' }
    expect(formatProgress(noData)).toBe('[1m30s/1h] smoke no data')
  })
})

describe('TerminalLogger', () => {
  it('prints group headings and indents the lines inside them', async () => {
    const { out, logger } = setup(false)
    const result = await logger.group('Pin routing to v1', async () => {
      logger.info('update VirtualService default/reviews')
      return 7
    })
    logger.info('done')
    expect(result).toBe(7)
    expect(out.text).toBe('» Pin routing to v1\n  update VirtualService default/reviews\ndone\n')
  })

  it('prints every progress line as it comes when not on a TTY', async () => {
    const { out, logger } = setup(false)
    await logger.group('Watch 50% for 1m', async () => {
      logger.progress(evaluated('success-rate', 1, 30_000, 60_000))
      logger.progress(evaluated('success-rate', 1, 60_000, 60_000))
    })
    expect(out.text).toBe(
      '» Watch 50% for 1m\n  [30s/1m] success-rate 1 >= 0.99 ok\n  [1m/1m] success-rate 1 >= 0.99 ok\n'
    )
    expect(out.text).not.toContain('\r')
  })

  it('redraws one spinner line on a TTY and keeps the last one when the watch ends', async () => {
    const { out, logger } = setup(true)
    await logger.group('Watch', async () => {
      logger.progress(evaluated('success-rate', 1, 30_000, 60_000))
      logger.progress(evaluated('success-rate', 1, 60_000, 60_000))
    })
    expect(out.text).toBe(
      '» Watch\n' +
        `${CLEAR}  ⠙ [30s/1m] success-rate 1 >= 0.99 ok` +
        `${CLEAR}  ⠹ [1m/1m] success-rate 1 >= 0.99 ok` +
        `${CLEAR}  [1m/1m] success-rate 1 >= 0.99 ok\n`
    )
  })

  it('keeps failing evaluations on screen and redraws the progress line below other output', async () => {
    const { out, err, logger } = setup(true)
    await logger.group('Watch', async () => {
      logger.progress(evaluated('success-rate', 1, 30_000, 60_000))
      logger.progress(evaluated('success-rate', 0.5, 60_000, 60_000, 'too low'))
      logger.warning('slow API')
    })
    expect(out.text).toBe(
      '» Watch\n' +
        `${CLEAR}  ⠙ [30s/1m] success-rate 1 >= 0.99 ok` +
        `${CLEAR}  [1m/1m] success-rate 0.5 >= 0.99 FAIL (1/1): too low\n` +
        `${CLEAR}  ⠙ [30s/1m] success-rate 1 >= 0.99 ok` +
        CLEAR +
        `${CLEAR}  ⠙ [30s/1m] success-rate 1 >= 0.99 ok` +
        `${CLEAR}  [30s/1m] success-rate 1 >= 0.99 ok\n`
    )
    expect(err.text).toBe('warning: slow API\n')
  })

  it('cuts a progress line to the terminal width', () => {
    const { out, logger } = setup(true)
    logger.progress(evaluated('x'.repeat(100), 1, 30_000, 60_000))
    const drawn = out.text.slice(CLEAR.length)
    expect(drawn.length).toBe(59)
    expect(drawn.endsWith('…')).toBe(true)
    logger.close()
  })

  it('prints debug lines only when verbose', () => {
    const quiet = setup(false)
    quiet.logger.debug('GET /apis')
    expect(quiet.out.text).toBe('')
    const verbose = setup(false, true)
    verbose.logger.debug('GET /apis')
    expect(verbose.out.text).toBe('debug: GET /apis\n')
  })

  it('redacts secrets from every line', () => {
    const { out, err, logger } = setup(false, true, text => text.replaceAll('s3cret', '***'))
    logger.info('token s3cret')
    logger.warning('bad s3cret')
    logger.debug('s3cret')
    expect(out.text + err.text).not.toContain('s3cret')
    expect(out.text).toContain('token ***')
  })
})
