/**
 * A small, bounded, constant-rate HTTP load: what proves a rollout drops no request. Requests
 * start on a fixed schedule (open model: a slow server does not slow the sender down), each
 * with its own timeout; every response is classified, and an optional `observe` function
 * reads which release answered (e.g. the image in GET /version) so a report can show the
 * switch from one release to the next.
 */
import { Agent, request } from 'undici';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Requests to send, in turn. */
  requests: readonly LoadRequest[];
  ratePerSecond: number;
  /** Hard bounds: the load stops at whichever comes first. */
  maxSeconds: number;
  maxRequests: number;
  timeoutMs?: number;
  /** Which release answered, from a 2xx response body; undefined when the body does not say. */
  observe?: (body: string, req: LoadRequest) => string | undefined;
}

export interface LoadFailure {
  /** Milliseconds since the load started. */
  at: number;
  request: string;
  reason: string;
}

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  /** The first failures (at most 20), for the report. */
  failures: LoadFailure[];
  /** Releases seen answering, in order of first appearance, with when and how often. */
  seen: Array<{ value: string; first: number; last: number; count: number }>;
  seconds: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export interface LoadRun {
  /** Stops sending, waits for requests in flight, and reports. */
  stop(): Promise<LoadReport>;
  /** Resolves when a bound is reached (and the requests in flight are done). */
  readonly done: Promise<LoadReport>;
  /** A snapshot while running. */
  progress(): { sent: number; failed: number; lastSeen: string | undefined };
}

export function startLoad(options: LoadOptions): LoadRun {
  const timeoutMs = options.timeoutMs ?? 5000;
  const agent = new Agent({ keepAliveTimeout: 4000, connections: 64 });
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  const latencies: number[] = [];
  const failures: LoadFailure[] = [];
  const seen = new Map<string, { value: string; first: number; last: number; count: number }>();
  let lastSeen: string | undefined;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();

  const fail = (at: number, req: LoadRequest, reason: string) => {
    failed++;
    if (failures.length < 20) failures.push({ at, request: `${req.method} ${req.path}`, reason });
  };

  const one = async (req: LoadRequest): Promise<void> => {
    const at = since();
    const t0 = performance.now();
    try {
      const res = await request(new URL(req.path, options.url), {
        method: req.method,
        body: req.body,
        headers: req.headers,
        dispatcher: agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.body.text();
      latencies.push(performance.now() - t0);
      if (res.statusCode < 200 || res.statusCode >= 300) {
        fail(at, req, `HTTP ${res.statusCode}: ${body.slice(0, 120)}`);
        return;
      }
      ok++;
      let value: string | undefined;
      try {
        value = options.observe?.(body, req);
      } catch {
        value = undefined; // an answer the observer cannot read is still an answer
      }
      if (value !== undefined) {
        lastSeen = value;
        const entry = seen.get(value);
        if (entry) {
          entry.last = at;
          entry.count++;
        } else seen.set(value, { value, first: at, last: at, count: 1 });
      }
    } catch (err) {
      const e = err as Error & { code?: string };
      fail(at, req, e.code ?? e.message);
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const interval = 1000 / options.ratePerSecond;
  const tick = () => {
    const elapsed = performance.now() - started;
    if (sent >= options.maxRequests || elapsed >= options.maxSeconds * 1000) return finish();
    // Catch up on the schedule if the event loop was late, so the rate holds on average.
    while (sent < options.maxRequests && sent * interval <= elapsed) {
      const req = options.requests[sent % options.requests.length]!;
      sent++;
      const p = one(req).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    timer = setTimeout(tick, Math.max(1, (sent * interval - elapsed) | 0));
  };
  tick();

  const report = async (): Promise<LoadReport> => {
    await ended;
    clearTimeout(timer);
    await Promise.all([...inFlight]);
    await agent.close();
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies.length
        ? +latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1)
        : 0;
    return {
      sent,
      ok,
      failed,
      failures,
      seen: [...seen.values()],
      seconds: +((performance.now() - started) / 1000).toFixed(2),
      latencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
    };
  };
  const done = report();
  return {
    done,
    stop: () => {
      finish();
      return done;
    },
    progress: () => ({ sent, failed, lastSeen }),
  };
}
