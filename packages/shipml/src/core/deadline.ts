/**
 * Client-side time limits for services whose SDK has none of its own that fits.
 * A deadline bounds a whole call; a watchdog bounds silence (no progress) during a long
 * transfer, so a slow but moving transfer is never cut off.
 */
export interface Deadline {
  /** Aborts when the time is up or `outer` aborts. */
  signal: AbortSignal;
  /** True when the deadline (not the caller) aborted. */
  readonly expired: boolean;
  /** Restarts the clock (progress was made). */
  poke(): void;
  clear(): void;
}

export function deadline(ms: number, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      expired = true;
      controller.abort(new Error(`no response within ${ms} ms`));
    }, ms);
    timer.unref();
  };
  const forward = (): void => controller.abort(outer?.reason);
  outer?.addEventListener('abort', forward, { once: true });
  if (outer?.aborted) forward();
  arm();
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    poke: arm,
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
    },
  };
}
