import type { RetryPolicy } from '../core/retry.js';

/** What every back end needs from its surroundings; passed in, never global. */
export interface StoreContext {
  /** Environment to read credentials and endpoints from (process.env in the CLI). */
  env: NodeJS.ProcessEnv;
  retry: RetryPolicy;
  /** Connect and per-request idle timeout. */
  timeoutMs: number;
}
