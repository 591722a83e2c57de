/**
 * The conformance suite every service-store back end passes against a real database (hono's
 * `runTest` pattern, like model-store/conformance.ts). `open` opens another handle on the
 * same database each call — a pool of its own on PostgreSQL, a file handle of its own on
 * SQLite — so the concurrency cases race separate connections, as separate processes do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyCases } from './conformance-history.js';
import { leaseCases } from './conformance-leases.js';
import {
  at,
  claimOptions,
  concurrently,
  request,
  uniqueApp,
  type OpenServiceStore,
} from './conformance-fixtures.js';
import type { RunRecord, ServiceStore } from './types.js';

export type { OpenServiceStore } from './conformance-fixtures.js';

/** Registers the suite: `name` labels it (sqlite, postgres, yours). */
export function runServiceStoreConformance(name: string, open: OpenServiceStore): void {
  describe(`ServiceStore conformance: ${name}`, () => {
    const opened: ServiceStore[] = [];
    let store: ServiceStore;
    /** More handles on the same database, closed after the suite. */
    const others = async (count: number): Promise<ServiceStore[]> => {
      const more = await Promise.all(Array.from({ length: count }, () => open()));
      opened.push(...more);
      return more;
    };
    beforeAll(async () => {
      [store] = (await others(1)) as [ServiceStore];
    });
    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    it('pings and migrates again without change', async () => {
      await store.ping();
      await store.migrate();
      expect(store.kind).toMatch(/^[a-z][a-z0-9-]*$/);
    });

    queueCases(() => store, others);
    leaseCases(() => store, others);
    historyCases(() => store, others);
  });
}

function queueCases(
  store: () => ServiceStore,
  others: (n: number) => Promise<ServiceStore[]>,
): void {
  it('queues a run with everything it was asked for', async () => {
    const app = uniqueApp();
    const asked = request(app, {
      modelRef: 'digits@1.5.0',
      cause: { trigger: 'model', source: 'model-watch', detail: 'v2' },
    });
    const { run, superseded } = await store().enqueue(asked, { now: at(0), coalesce: true });
    expect(superseded).toEqual([]);
    expect(run).toMatchObject({
      ...asked,
      status: 'queued',
      attempt: 1,
      queuedAt: at(0),
      cancelRequested: false,
    });
    expect(run.startedAt).toBeUndefined();
    expect(await store().getRun(run.id)).toEqual(run);
  });

  it('coalesces a burst of 100 pushes into one queued run; the 99 point at it', async () => {
    const app = uniqueApp();
    const [a, b] = await others(2);
    const results = await concurrently([store(), a!, b!], 34, (s, i, round) =>
      s.enqueue(request(app, { commit: `${i}${round}`.padEnd(40, '0') }), {
        now: at(round),
        coalesce: true,
      }),
    );
    const runs = (await store().listRuns({ app, limit: 500 })).runs;
    expect(runs).toHaveLength(102);
    const queued = runs.filter((r) => r.status === 'queued');
    expect(queued).toHaveLength(1);
    const superseded = runs.filter((r) => r.status === 'superseded');
    expect(superseded).toHaveLength(101);
    for (const r of superseded) expect(r.supersededBy).toBe(queued[0]!.id);
    expect(new Set(results.flatMap((r) => r.superseded)).size).toBe(101);
  });

  it('coalesces per app, kind and branch, and never touches a running run', async () => {
    const app = uniqueApp();
    const first = (await store().enqueue(request(app), { now: at(0), coalesce: true })).run;
    expect(await store().claim(claimOptions([app]))).toMatchObject({
      id: first.id,
      status: 'running',
    });
    const main = (await store().enqueue(request(app), { now: at(1), coalesce: true })).run;
    const dev = (
      await store().enqueue(request(app, { branch: 'dev' }), { now: at(2), coalesce: true })
    ).run;
    const release = (
      await store().enqueue(request(app, { kind: 'release' }), { now: at(3), coalesce: true })
    ).run;
    const noBranch = (
      await store().enqueue(request(app, { branch: undefined }), { now: at(4), coalesce: true })
    ).run;
    const newer = await store().enqueue(request(app), { now: at(5), coalesce: true });
    expect(newer.superseded).toEqual([main.id]);
    for (const id of [first.id, dev.id, release.id, noBranch.id])
      expect((await store().getRun(id))?.status).not.toBe('superseded');
    const manual = await store().enqueue(request(app), { now: at(6), coalesce: false });
    expect(manual.superseded).toEqual([]);
    expect((await store().getRun(newer.run.id))?.status).toBe('queued');
  });

  it('claims the oldest queued run of the apps it serves, or nothing', async () => {
    const app = uniqueApp();
    const other = uniqueApp();
    expect(await store().claim(claimOptions([app]))).toBeUndefined();
    expect(await store().claim(claimOptions([]))).toBeUndefined();
    const r1 = (
      await store().enqueue(request(app, { branch: 'a' }), { now: at(0), coalesce: true })
    ).run;
    const r2 = (
      await store().enqueue(request(app, { branch: 'b' }), { now: at(1), coalesce: true })
    ).run;
    await store().enqueue(request(other), { now: at(0), coalesce: true });
    const claimed = await store().claim(
      claimOptions([app], { worker: 'w9', now: at(10), leaseMs: 5000, concurrency: () => 2 }),
    );
    expect(claimed).toMatchObject({
      id: r1.id,
      status: 'running',
      worker: 'w9',
      startedAt: at(10),
      leaseExpiresAt: at(5010),
    });
    expect((await store().claim(claimOptions([app], { concurrency: () => 2 })))?.id).toBe(r2.id);
    expect(await store().claim(claimOptions([app], { concurrency: () => 2 }))).toBeUndefined();
  });

  it('respects per-app concurrency and lets other apps through', async () => {
    const busy = uniqueApp();
    const free = uniqueApp();
    for (const branch of ['a', 'b', 'c'])
      await store().enqueue(request(busy, { branch }), { now: at(0), coalesce: true });
    const f = (await store().enqueue(request(free), { now: at(1), coalesce: true })).run;
    const apps = [busy, free];
    expect((await store().claim(claimOptions(apps)))?.app).toBe(busy);
    expect((await store().claim(claimOptions(apps)))?.id).toBe(f.id);
    expect(await store().claim(claimOptions(apps))).toBeUndefined();
    expect(
      (await store().claim(claimOptions(apps, { concurrency: (a) => (a === busy ? 2 : 1) })))?.app,
    ).toBe(busy);
  });

  it('runs one deploying run per app at a time; runs that do not deploy may go beside it', async () => {
    const app = uniqueApp();
    const options = claimOptions([app], { concurrency: () => 5 });
    const d1 = (
      await store().enqueue(request(app, { branch: 'a', deploys: true }), {
        now: at(0),
        coalesce: true,
      })
    ).run;
    await store().enqueue(request(app, { kind: 'release', deploys: true, image: 'r@sha256:1' }), {
      now: at(1),
      coalesce: true,
    });
    const build = (
      await store().enqueue(request(app, { branch: 'b' }), { now: at(2), coalesce: true })
    ).run;
    expect((await store().claim(options))?.id).toBe(d1.id);
    expect((await store().claim(options))?.id).toBe(build.id);
    expect(await store().claim(options)).toBeUndefined();
  });

  it('never gives one run to two workers (many claimers, separate connections)', async () => {
    const apps = [uniqueApp(), uniqueApp(), uniqueApp()];
    const total = 45;
    for (let i = 0; i < total; i++)
      await store().enqueue(request(apps[i % 3]!, { branch: `b${i}` }), {
        now: at(i),
        coalesce: true,
      });
    const claimers = [store(), ...(await others(5))];
    const got: RunRecord[] = [];
    const deadline = Date.now() + 30_000;
    await Promise.all(
      claimers.map(async (s, i) => {
        for (let empty = 0; empty < 20 && Date.now() < deadline;) {
          const run = await s.claim(
            claimOptions(apps, { worker: `w${i}`, concurrency: () => 100 }),
          );
          if (run) got.push(run);
          else empty++;
        }
      }),
    );
    expect(got).toHaveLength(total);
    expect(new Set(got.map((r) => r.id)).size).toBe(total);
    for (const r of got) expect((await store().getRun(r.id))?.worker).toBe(r.worker);
  });

  it('keeps per-app limits under concurrent claimers', async () => {
    const app = uniqueApp();
    const deploying = uniqueApp();
    for (let i = 0; i < 6; i++) {
      await store().enqueue(request(app, { branch: `b${i}` }), { now: at(i), coalesce: true });
      await store().enqueue(request(deploying, { branch: `b${i}`, deploys: true }), {
        now: at(i),
        coalesce: true,
      });
    }
    const claimers = [store(), ...(await others(5))];
    const got = await concurrently(claimers, 3, (s, i) =>
      s.claim(
        claimOptions([app, deploying], {
          worker: `w${i}`,
          concurrency: (a) => (a === app ? 2 : 6),
        }),
      ),
    );
    const claimed = got.filter((r): r is RunRecord => r !== undefined);
    expect(claimed.filter((r) => r.app === app)).toHaveLength(2);
    expect(claimed.filter((r) => r.app === deploying)).toHaveLength(1);
  });
}
