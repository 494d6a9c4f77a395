/** Retries transient Kubernetes API failures (429, 5xx, timeouts, dropped connections) with bounded backoff. */

export interface RetryPolicy {
  /** Attempts in all, including the first. */
  attempts: number
  /** First backoff; doubles each time. */
  baseDelayMs: number
  /** Upper bound of one wait, including a server's Retry-After. */
  maxDelayMs: number
}

export const READ_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000 }
export const NO_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }

export interface TransientInfo {
  transient: boolean
  retryAfterMs?: number
}

export async function withRetry<T>(
  policy: RetryPolicy,
  classify: (error: unknown) => TransientInfo,
  action: () => Promise<T>,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action()
    } catch (error) {
      const info = classify(error)
      if (!info.transient || attempt >= policy.attempts) throw error
      const backoff = policy.baseDelayMs * 2 ** (attempt - 1)
      const delayMs = Math.min(policy.maxDelayMs, Math.max(backoff, info.retryAfterMs ?? 0))
      onRetry?.(error, attempt, delayMs)
      await new Promise(resolve => setTimeout(resolve, delayMs))
    }
  }
}
