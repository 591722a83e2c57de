/**
 * Following the demo's runs through the server's API, as any client would: the run's log
 * (its stage results shown as they come) until the run is final, then its record.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExternalServiceError } from '../core/errors.js';
import type { RunReport } from '../pipeline/types.js';
import { FINAL_STATUSES as FINAL } from '../server/store/types.js';

export interface ApiRun {
  id: string;
  status: string;
  modelRef?: string;
  error?: string;
  cause: { trigger: string; source: string; detail?: string };
  report?: RunReport;
}

export interface Api {
  get<T>(path: string): Promise<T>;
}

export function apiClient(url: string, token: string, signal: AbortSignal): Api {
  return {
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
      });
      if (!res.ok)
        throw new ExternalServiceError(`GET ${path}: ${res.status} ${await res.text()}`, {
          retryable: false,
        });
      return (await res.json()) as T;
    },
  };
}

/** Waits (bounded) until run `id` is final, calling `onStage` with each stage's result line. */
export async function followRun(
  api: Api,
  id: string,
  onStage: (line: string) => void,
  signal: AbortSignal,
  timeoutMs = 15 * 60_000,
): Promise<ApiRun> {
  const deadline = Date.now() + timeoutMs;
  let after = 0;
  for (;;) {
    const log = await api.get<{
      lines: Array<{ seq: number; stage: string; line: string }>;
      complete: boolean;
    }>(`/api/v1/runs/${id}/log?after=${after}`);
    for (const l of log.lines) {
      after = l.seq;
      if (/^[✓✗] /.test(l.line)) onStage(l.line);
    }
    if (log.complete) {
      const run = await api.get<ApiRun>(`/api/v1/runs/${id}`);
      if (FINAL.has(run.status)) return run;
    }
    if (Date.now() > deadline)
      throw new ExternalServiceError(`run ${id} did not finish in ${timeoutMs / 60_000} min`, {
        retryable: false,
      });
    await sleep(300, undefined, { signal });
  }
}

/** Waits (bounded) for the run the model watch starts for `modelRef`; returns its id. */
export async function runFor(
  api: Api,
  app: string,
  modelRef: string,
  signal: AbortSignal,
  timeoutMs = 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { runs } = await api.get<{ runs: ApiRun[] }>(`/api/v1/runs?app=${app}&limit=10`);
    const run = runs.find((r) => r.modelRef === modelRef && r.cause.trigger === 'model');
    if (run) return run.id;
    if (Date.now() > deadline)
      throw new ExternalServiceError(
        `the model watch started no run for ${modelRef} within ${timeoutMs / 1000} s`,
        { retryable: false },
      );
    await sleep(250, undefined, { signal });
  }
}
