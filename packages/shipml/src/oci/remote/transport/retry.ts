import { withRetry, type RetryPolicy } from '../../../core/retry.js';
import type { Send } from './types.js';

/**
 * The retry wrapper, outermost in the chain: a retryable failure (network, 5xx, 429,
 * TOOMANYREQUESTS) is tried again with backoff (core/retry.ts). Requests marked `once` (an
 * upload's PUT/PATCH, whose session a failure may spoil) are left to their caller, which
 * retries the whole upload in a new session.
 */
export function withRetries(next: Send, policy: RetryPolicy): Send {
  return (req) =>
    req.once ? next(req) : withRetry(() => next(req), policy, { signal: req.signal });
}
