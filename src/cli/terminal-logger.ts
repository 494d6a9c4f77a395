/**
 * The engine's Logger for a terminal. On a TTY the watch's evaluation lines redraw one spinner line;
 * elsewhere (pipes, CI logs) every line is printed as it comes.
 */
import { formatProgress } from '../analysis/progress.js'
import type { ProgressEvent } from '../analysis/types.js'
import type { Logger } from '../engine/context.js'
import type { Style } from './render.js'

/** The part of a stream the logger needs; fakes in tests implement it. */
export interface OutputStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface TerminalLoggerOptions {
  /** Where info, group headings, progress and debug lines go. */
  out: OutputStream
  /** Where warnings go. */
  err: OutputStream
  style: Style
  verbose: boolean
  /** Redraw the progress line in place (a TTY); otherwise print each progress line. */
  interactive: boolean
  /** Removes secrets from any text before it is written. */
  redact?: (text: string) => string
  /** How often the spinner turns; 0 turns it only when a new progress line arrives. */
  spinnerIntervalMs?: number
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const CLEAR_LINE = '\r\u001b[2K'

export class TerminalLogger implements Logger {
  private depth = 0
  private progressLine: string | undefined
  private frame = 0
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly options: TerminalLoggerOptions) {}

  info(message: string): void {
    this.print(this.options.out, message)
  }

  progress(event: ProgressEvent): void {
    const line = formatProgress(event)
    const failing = event.countsAsFailure
    // Failures stay on screen; passing evaluations only move the progress line on.
    if (this.options.interactive && !failing) {
      this.drawProgress(line)
      return
    }
    this.print(this.options.out, failing ? this.options.style.red(line) : line)
  }

  warning(message: string): void {
    this.print(this.options.err, `${this.options.style.yellow('warning:')} ${message}`, false)
  }

  debug(message: string): void {
    if (this.options.verbose) this.print(this.options.out, this.options.style.dim(`debug: ${message}`))
  }

  async group<T>(title: string, body: () => Promise<T>): Promise<T> {
    this.print(this.options.out, this.options.style.bold(`» ${title}`))
    this.depth++
    try {
      return await body()
    } finally {
      this.settleProgress()
      this.depth--
    }
  }

  /** Leaves the terminal clean: the last progress line is kept as a plain line. */
  close(): void {
    this.settleProgress()
  }

  private indent(): string {
    return '  '.repeat(this.depth)
  }

  private print(stream: OutputStream, text: string, indented = true): void {
    this.clearProgress()
    const prefix = indented ? this.indent() : ''
    const lines = this.redact(text)
      .split('\n')
      .map(line => prefix + line)
    stream.write(lines.join('\n') + '\n')
    this.redrawProgress()
  }

  private redact(text: string): string {
    return this.options.redact ? this.options.redact(text) : text
  }

  private drawProgress(message: string): void {
    this.progressLine = this.redact(message)
    this.frame = (this.frame + 1) % SPINNER.length
    this.redrawProgress()
    const every = this.options.spinnerIntervalMs ?? 100
    if (!this.timer && every > 0) {
      this.timer = setInterval(() => {
        this.frame = (this.frame + 1) % SPINNER.length
        this.redrawProgress()
      }, every)
      // The spinner never keeps the process alive.
      this.timer.unref?.()
    }
  }

  private redrawProgress(): void {
    if (this.progressLine === undefined) return
    const { out, style } = this.options
    const line = `${this.indent()}${SPINNER[this.frame]} ${this.progressLine}`
    // A wrapped line could not be redrawn in place: cut it to the terminal width.
    const width = out.columns && out.columns > 1 ? out.columns - 1 : undefined
    const fitted = width && line.length > width ? `${line.slice(0, width - 1)}…` : line
    out.write(`${CLEAR_LINE}${style.cyan(fitted)}`)
  }

  private clearProgress(): void {
    if (this.progressLine !== undefined) this.options.out.write(CLEAR_LINE)
  }

  private settleProgress(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    const last = this.progressLine
    if (last === undefined) return
    this.progressLine = undefined
    this.options.out.write(`${CLEAR_LINE}${this.indent()}${last}\n`)
  }
}
