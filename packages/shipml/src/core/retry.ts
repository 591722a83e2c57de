import { setTimeout as sleep } from 'node:timers/promises';
import { ExternalServiceError, systemCode } from './errors.js';

/** How hard to try before giving up on a retryable failure. */
export interface RetryPolicy {
  /** Total attempts, including the first (>= 1). */
  attempts: number;
  /** Delay before the first retry; doubled each time, with full jitter. */
  baseDelayMs: number;
  /** Upper bound of one delay. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Network failures that can happen mid-stream, after a back end handed us a body. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The default retryable test: ShipML's own ExternalServiceError flag, or a broken connection. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ExternalServiceError) return err.retryable;
  return TRANSIENT_SYSTEM_CODES.has(systemCode(err) ?? '');
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or the attempts run out.
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter").
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: { retryable?: (err: unknown) => boolean; signal?: AbortSignal } = {},
): Promise<T> {
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err) || options.signal?.aborted) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling, undefined, { signal: options.signal });
    }
  }
}
