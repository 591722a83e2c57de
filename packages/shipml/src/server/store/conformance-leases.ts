/** Conformance cases for leases: renew, finish, expiry and retry, cancel. */
import { expect, it } from 'vitest';
import {
  at,
  claimOptions,
  concurrently,
  report,
  request,
  uniqueApp,
  type StoreCases,
} from './conformance-fixtures.js';
import type { RunRecord } from './types.js';

export const leaseCases: StoreCases = (store, others) => {
  /** A fresh app with one run claimed by w1 at at(0) with a 1 s lease. */
  const running = async (overrides = {}): Promise<RunRecord> => {
    const app = uniqueApp();
    await store().enqueue(request(app, overrides), { now: at(0), coalesce: true });
    const run = await store().claim(claimOptions([app], { leaseMs: 1000 }));
    if (!run) throw new Error('nothing claimed');
    return run;
  };

  it('renews a held lease, and reports a lost one', async () => {
    const run = await running();
    expect(await store().renew(run.id, 'w1', { now: at(500), leaseMs: 1000 })).toEqual({
      held: true,
      cancelRequested: false,
    });
    expect((await store().getRun(run.id))?.leaseExpiresAt).toBe(at(1500));
    expect(await store().renew(run.id, 'w2', { now: at(600), leaseMs: 1000 })).toEqual({
      held: false,
    });
    expect(await store().renew(run.id, 'w1', { now: at(1501), leaseMs: 1000 })).toEqual({
      held: false,
    });
    expect(await store().renew('no-such-run', 'w1', { now: at(0), leaseMs: 1000 })).toEqual({
      held: false,
    });
  });

  it('finishes a held run with its report; a worker that lost the lease writes nothing', async () => {
    const run = await running();
    const done = report(run.id);
    expect(
      await store().finish(run.id, 'w2', { now: at(100), status: 'failed', error: 'not mine' }),
    ).toBe(false);
    expect(
      await store().finish(run.id, 'w1', {
        now: at(200),
        status: 'succeeded',
        report: done,
        inputsKey: 'k1',
      }),
    ).toBe(true);
    const finished = await store().getRun(run.id);
    expect(finished).toMatchObject({ status: 'succeeded', finishedAt: at(200), inputsKey: 'k1' });
    expect(finished?.report).toEqual(done);
    expect(await store().finish(run.id, 'w1', { now: at(300), status: 'failed' })).toBe(false);
    expect((await store().getRun(run.id))?.status).toBe('succeeded');

    const late = await running();
    expect(
      await store().finish(late.id, 'w1', {
        now: at(5000),
        status: 'succeeded',
        report: report(late.id),
      }),
    ).toBe(false);
    expect(await store().getRun(late.id)).toMatchObject({ status: 'running', report: undefined });
  });

  it('interrupts runs whose lease expired, retries once, and a second interruption stays', async () => {
    const run = await running();
    expect(await store().expireLeases(at(999))).toMatchObject({ interrupted: [], retried: [] });
    const first = await store().expireLeases(at(1001));
    const mine = (list: RunRecord[]) => list.filter((r) => r.app === run.app);
    expect(mine(first.interrupted)).toMatchObject([{ id: run.id, status: 'interrupted' }]);
    const [retry] = mine(first.retried);
    expect(retry).toMatchObject({
      status: 'queued',
      attempt: 2,
      retryOf: run.id,
      commit: run.commit,
      cause: run.cause,
    });
    expect((await store().getRun(run.id))?.error).toMatch(/lease/);
    expect(await store().finish(run.id, 'w1', { now: at(1002), status: 'succeeded' })).toBe(false);

    const again = await store().claim(claimOptions([run.app], { now: at(2000), leaseMs: 1000 }));
    expect(again?.id).toBe(retry!.id);
    const second = await store().expireLeases(at(3001));
    expect(mine(second.interrupted).map((r) => r.id)).toEqual([retry!.id]);
    expect(mine(second.retried)).toEqual([]);
    expect(await store().getRun(retry!.id)).toMatchObject({ status: 'interrupted', attempt: 2 });
    expect((await store().listRuns({ app: run.app, status: 'queued' })).runs).toEqual([]);
  });

  it('does not retry an interrupted run when a newer one of its branch is queued', async () => {
    const run = await running();
    const newer = (await store().enqueue(request(run.app), { now: at(10), coalesce: true })).run;
    const { interrupted, retried } = await store().expireLeases(at(1001));
    expect(interrupted.map((r) => r.id)).toContain(run.id);
    expect(retried.filter((r) => r.app === run.app)).toEqual([]);
    expect((await store().getRun(run.id))?.error).toContain(newer.id);
  });

  it('expires each lease once when several processes expire at the same time', async () => {
    const runs = await Promise.all(Array.from({ length: 5 }, () => running()));
    const apps = new Set(runs.map((r) => r.app));
    const results = await concurrently([store(), ...(await others(3))], 2, (s) =>
      s.expireLeases(at(1001)),
    );
    const interrupted = results.flatMap((r) => r.interrupted).filter((r) => apps.has(r.app));
    const retried = results.flatMap((r) => r.retried).filter((r) => apps.has(r.app));
    expect(interrupted.map((r) => r.id).sort()).toEqual(runs.map((r) => r.id).sort());
    expect(retried).toHaveLength(5);
    expect(new Set(retried.map((r) => r.retryOf)).size).toBe(5);
  });

  it('cancels a queued run at once and asks the worker of a running one', async () => {
    const app = uniqueApp();
    const queued = (
      await store().enqueue(request(app, { branch: 'q' }), { now: at(0), coalesce: true })
    ).run;
    expect(await store().cancel(queued.id, at(5))).toMatchObject({
      status: 'cancelled',
      finishedAt: at(5),
    });
    expect(await store().claim(claimOptions([app]))).toBeUndefined();

    const run = await running();
    expect(await store().cancel(run.id, at(10))).toMatchObject({
      status: 'running',
      cancelRequested: true,
    });
    expect(await store().renew(run.id, 'w1', { now: at(20), leaseMs: 1000 })).toEqual({
      held: true,
      cancelRequested: true,
    });
    expect(
      await store().finish(run.id, 'w1', { now: at(30), status: 'cancelled', error: 'cancelled' }),
    ).toBe(true);
    expect(await store().cancel(run.id, at(40))).toMatchObject({
      status: 'cancelled',
      finishedAt: at(30),
    });
    expect(await store().cancel('no-such-run', at(0))).toBeUndefined();
  });
};
