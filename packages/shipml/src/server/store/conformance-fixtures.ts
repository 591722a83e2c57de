/**
 * What the service-store conformance cases share: requests, reports, a clock, unique names
 * (every case works in apps of its own, so cases share one database without seeing each
 * other's rows).
 */
import { randomBytes } from 'node:crypto';
import type { RunReport } from '../../pipeline/types.js';
import type { ClaimOptions, RunRequest, ServiceStore } from './types.js';

/** Opens another handle on the same database each call (a pool, or a file handle), migrated. */
export type OpenServiceStore = () => Promise<ServiceStore>;

/**
 * A group of conformance cases: `store` is the store under test, `others(n)` opens n more
 * handles on its database (other processes, as far as the store can tell).
 */
export type StoreCases = (
  store: () => ServiceStore,
  others: (n: number) => Promise<ServiceStore[]>,
) => void;

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/** An ISO time `ms` after T0. */
export function at(ms: number): string {
  return new Date(T0 + ms).toISOString();
}

export function uniqueApp(label = 'app'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function request(app: string, overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    app,
    kind: 'run',
    branch: 'main',
    deploys: false,
    cause: {
      trigger: 'commit',
      source: 'github',
      deliveryId: randomBytes(8).toString('hex'),
      pusher: 'alice',
    },
    commit: randomBytes(20).toString('hex'),
    ...overrides,
  };
}

export function claimOptions(apps: string[], overrides: Partial<ClaimOptions> = {}): ClaimOptions {
  return { worker: 'w1', now: at(0), leaseMs: 30_000, concurrency: () => 1, apps, ...overrides };
}

/** A succeeded run's report that built (or did not build) an image. */
export function report(id: string, image = true): RunReport {
  return {
    id,
    kind: 'run',
    trigger: 'commit',
    reason: undefined,
    startedAt: at(0),
    finishedAt: at(1000),
    outcome: 'succeeded',
    failure: undefined,
    inputs: {
      commit: 'a'.repeat(40),
      tree: 'b'.repeat(40),
      dirty: false,
      model: undefined,
      configHash: 'c'.repeat(64),
    },
    reusedFrom: undefined,
    image: image
      ? {
          reference: `127.0.0.1:5000/app@sha256:${'d'.repeat(64)}`,
          digest: `sha256:${'d'.repeat(64)}`,
        }
      : undefined,
    layers: undefined,
    metrics: { accuracy: 0.97 },
    stages: [{ name: 'resolve', status: 'succeeded', seconds: 0.1, detail: 'ok' }],
    live: undefined,
    url: undefined,
  };
}

/** Runs `fn` on every store at once, `rounds` times each; the results flattened. */
export async function concurrently<T>(
  stores: readonly ServiceStore[],
  rounds: number,
  fn: (store: ServiceStore, index: number, round: number) => Promise<T>,
): Promise<T[]> {
  const each = await Promise.all(
    stores.map(async (store, index) =>
      Promise.all(Array.from({ length: rounds }, (_, round) => fn(store, index, round))),
    ),
  );
  return each.flat();
}
