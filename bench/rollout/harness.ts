/**
 * What every scenario shares: the rows of the report, the load (ShipML's startLoad, with an
 * observer that tells which release answered), bounded commands and readiness waits, and the
 * stop signal Ctrl-C / SIGTERM raises.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeployEvent, Release } from 'shipml';
import { startLoad, type LoadReport, type LoadRequest } from 'shipml/deploy';
import { log, type Settings } from './settings.js';

export const NEVER_READY = 'never-ready';

export interface Releases {
  v1: Release;
  v2: Release;
  neverReady: Release;
}

export interface Row {
  /** `<scenario>/<tool>`. */
  id: string;
  scenario: string;
  tool: string;
  /** ShipML's rows decide the exit status. */
  shipml: boolean;
  /** Load numbers; null where there is no data path (Kubernetes under kwok). */
  sent: number | null;
  failed: number | null;
  /** The rollout or rollback: from its start until the release it ends with serves. */
  seconds: number | null;
  note: string;
  /** ShipML rows: 0 failed requests and, for rollbacks, the rollback happened; else null. */
  pass: boolean | null;
  error?: string;
  details: Record<string, unknown>;
}

export interface UnderLoad<T> {
  report: LoadReport;
  /** Wall clock of the measured step. */
  seconds: number;
  result: T;
  /** When (ms into the load) the step started. */
  stepStartMs: number;
}

const PREDICT_BODY = JSON.stringify({ input: new Array<number>(784).fill(0) });
const REQUESTS: LoadRequest[] = [
  { method: 'GET', path: '/version' },
  {
    method: 'POST',
    path: '/predict',
    body: PREDICT_BODY,
    headers: { 'content-type': 'application/json' },
  },
];

export class Bench {
  readonly rows: Row[] = [];

  constructor(
    readonly settings: Settings,
    readonly releases: Releases,
    /** Aborted by Ctrl-C / SIGTERM. */
    readonly stopped: AbortSignal,
  ) {}

  /** For one deploy, rollback or wait: the stop signal, or the step's time limit. */
  stepSignal(): AbortSignal {
    return AbortSignal.any([this.stopped, AbortSignal.timeout(this.settings.stepSeconds * 1000)]);
  }

  record(row: Omit<Row, 'id'>): void {
    const full = { id: `${row.scenario}/${row.tool}`, ...row };
    this.rows.push(full);
    const load = full.sent === null ? '' : `, ${full.sent} sent, ${full.failed} failed`;
    const secs = full.seconds === null ? '' : `, ${full.seconds.toFixed(2)} s`;
    log(`  => ${full.tool}${load}${secs}${full.error ? `, ERROR ${full.error}` : ''}`);
  }

  /** Runs a scenario; one that throws before it could report gets a row that says so. */
  async guarded(
    scenario: string,
    tool: string,
    shipml: boolean,
    run: () => Promise<void>,
  ): Promise<void> {
    if (this.stopped.aborted) return;
    try {
      await run();
    } catch (err) {
      this.record({
        scenario,
        tool,
        shipml,
        sent: null,
        failed: null,
        seconds: null,
        note: 'did not complete',
        pass: shipml ? false : null,
        error: (err as Error).message.split('\n')[0]!.slice(0, 300),
        details: {},
      });
    }
  }

  /** v1, v2, never-ready, or the image itself. */
  label(image: string | undefined): string {
    if (image === this.releases.v1.image) return 'v1';
    if (image === this.releases.v2.image) return 'v2';
    if (image === this.releases.neverReady.image) return NEVER_READY;
    return image ?? 'nothing';
  }

  /**
   * Which release answered: /version's `image` (the digits app reports SHIPML_IMAGE). The
   * never-ready server answers 200 {"status":"ok"} to everything but /readyz, so an answer
   * without an image (or a /predict without predictions) is the never-ready release — counted
   * as "seen", not failed, since its status is 2xx. Never throws: startLoad would count a
   * throw as a failed request.
   */
  private observe(body: string, req: LoadRequest): string | undefined {
    try {
      if (req.path === '/version') {
        const image = (JSON.parse(body) as { image?: string | null }).image;
        return image ? this.label(image) : NEVER_READY;
      }
      return body.includes('"predictions"') ? undefined : NEVER_READY;
    } catch {
      return 'unreadable answer';
    }
  }

  /** Starts the load, waits preMs, runs `step`, waits postMs, stops the load. */
  async underLoad<T>(url: string, step: () => Promise<T>): Promise<UnderLoad<T>> {
    const s = this.settings;
    const load = startLoad({
      url,
      requests: REQUESTS,
      ratePerSecond: s.rate,
      maxSeconds: s.loadMaxSeconds,
      maxRequests: s.loadMaxRequests,
      observe: (body, req) => this.observe(body, req),
    });
    const loadStart = performance.now();
    try {
      await sleep(s.preMs, undefined, { signal: this.stopped });
      const stepStartMs = Math.round(performance.now() - loadStart);
      const t0 = performance.now();
      const result = await step();
      const seconds = (performance.now() - t0) / 1000;
      await sleep(s.postMs, undefined, { signal: this.stopped });
      return { report: await load.stop(), seconds, result, stepStartMs };
    } finally {
      await load.stop();
    }
  }

  loadDetails(u: UnderLoad<unknown>): Record<string, unknown> {
    return {
      loadSeconds: u.report.seconds,
      stepStartMs: u.stepStartMs,
      ok: u.report.ok,
      latencyMs: u.report.latencyMs,
      seen: u.report.seen,
      failures: u.report.failures,
      loadCut: u.report.seconds >= this.settings.loadMaxSeconds - 0.5,
    };
  }

  /** Seconds until GET url/readyz answers 2xx; throws after `seconds`. */
  async waitReady(url: string, seconds: number): Promise<number> {
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    for (;;) {
      if (this.stopped.aborted) throw this.stopped.reason;
      try {
        const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return (performance.now() - t0) / 1000;
      } catch {
        // not listening yet
      }
      if (performance.now() > until) throw new Error(`${url}readyz not ready within ${seconds} s`);
      await sleep(100);
    }
  }

  /** Which release /version says serves now. */
  async serving(url: string): Promise<string> {
    const res = await fetch(new URL('/version', url), { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { image?: string | null };
    return this.label(body.image ?? undefined);
  }
}

// ---- commands, ports, text ------------------------------------------------------------------

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command bounded in time; never throws (the caller judges the exit code). */
export function sh(argv: string[], timeoutSeconds: number): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutSeconds * 1000, killSignal: 'SIGTERM', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : 1) : 0,
          stdout,
          stderr: e && typeof e.code !== 'number' ? `${stderr}${e.message}` : stderr,
          seconds: (performance.now() - t0) / 1000,
        });
      },
    );
  });
}

/** sh() that throws on a non-zero exit, with the command's last words. */
export async function mustSh(argv: string[], timeoutSeconds: number): Promise<Ran> {
  const ran = await sh(argv, timeoutSeconds);
  if (ran.code !== 0)
    throw new Error(
      `${argv.slice(0, 3).join(' ')} … exited ${ran.code}: ${(ran.stderr || ran.stdout).trim().slice(-300)}`,
    );
  return ran;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Seen = LoadReport['seen'];

export function seenText(seen: Seen): string {
  return seen.map((s) => `${s.value}×${s.count}`).join(' → ') || 'nothing';
}

/**
 * From v1's last answer to v2's first (on /version, every other request): a gap when nothing
 * answered in between, an overlap when both releases served side by side.
 */
export function switchText(seen: Seen): string {
  const v1 = seen.find((s) => s.value === 'v1');
  const v2 = seen.find((s) => s.value === 'v2');
  if (!v1 || !v2) return '';
  const ms = v2.first - v1.last;
  return ms > 0
    ? `; ${(ms / 1000).toFixed(2)} s from v1's last answer to v2's first`
    : `; v1 and v2 both answered for ${(-ms / 1000).toFixed(2)} s`;
}

/** An onEvent that logs with the time since start() (the measured step's start), and keeps the timeline. */
export function timeline(): {
  onEvent: (e: DeployEvent) => void;
  events: string[];
  start: () => void;
} {
  let t0 = performance.now();
  const events: string[] = [];
  return {
    events,
    start: () => {
      t0 = performance.now();
    },
    onEvent: (e) => {
      const line = `+${((performance.now() - t0) / 1000).toFixed(2)}s ${e.message}`;
      events.push(line);
      log(`    ${line}`);
    },
  };
}
