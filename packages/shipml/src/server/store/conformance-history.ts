/** Conformance cases for history, logs, deliveries, schedule fires, trigger state and tokens. */
import { createHash, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { NotFoundError } from '../../core/errors.js';
import {
  at,
  claimOptions,
  concurrently,
  report,
  request,
  uniqueApp,
  type StoreCases,
} from './conformance-fixtures.js';
import type { RunRecord, RunRequest, ServiceStore } from './types.js';

export const historyCases: StoreCases = (store, others) => {
  /** Queues, claims and finishes one run as w1. */
  const finished = async (
    req: RunRequest,
    status: 'succeeded' | 'failed',
    options: { image?: boolean; inputsKey?: string } = {},
  ): Promise<RunRecord> => {
    const { run } = await store().enqueue(req, { now: at(0), coalesce: false });
    const claimed = await store().claim(claimOptions([req.app], { concurrency: () => 100 }));
    expect(claimed?.id).toBe(run.id);
    await store().finish(run.id, 'w1', {
      now: at(100),
      status,
      report: report(run.id, options.image ?? true),
      inputsKey: options.inputsKey,
    });
    return run;
  };

  it('lists runs newest first, filtered, in pages', async () => {
    const app = uniqueApp();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push(
        (
          await store().enqueue(request(app, { branch: i % 2 ? 'dev' : 'main' }), {
            now: at(i),
            coalesce: false,
          })
        ).run.id,
      );
    const newestFirst = [...ids].reverse();
    const pages: string[][] = [];
    let before: string | undefined;
    for (let page = 0; page < 5; page++) {
      const { runs, next } = await store().listRuns({ app, limit: 3, before });
      pages.push(runs.map((r) => r.id));
      if (!next) break;
      before = next;
    }
    expect(pages).toEqual([newestFirst.slice(0, 3), newestFirst.slice(3, 6), newestFirst.slice(6)]);
    expect((await store().listRuns({ app, branch: 'dev' })).runs.map((r) => r.id)).toEqual(
      newestFirst.filter((_, i) => i % 2 === 1),
    );
    await store().cancel(ids[0]!, at(10));
    expect((await store().listRuns({ app, status: 'cancelled' })).runs.map((r) => r.id)).toEqual([
      ids[0],
    ]);
    expect((await store().listRuns({ app, kind: 'release' })).runs).toEqual([]);
    expect((await store().listRuns({ app, limit: 10 })).next).toBeUndefined();
  });

  it('counts queued and running runs per app', async () => {
    const app = uniqueApp();
    for (const branch of ['a', 'b', 'c'])
      await store().enqueue(request(app, { branch }), { now: at(0), coalesce: true });
    await store().claim(claimOptions([app]));
    const depth = (await store().queueDepth()).find((d) => d.app === app);
    expect(depth).toEqual({ app, queued: 2, running: 1 });
  });

  it('finds the newest successful build with an inputs key (the skip rule), and per branch', async () => {
    const app = uniqueApp();
    const key = `key-${randomBytes(4).toString('hex')}`;
    expect(await store().lastSuccessWith(key)).toBeUndefined();
    const older = await finished(request(app), 'succeeded', { inputsKey: key });
    const newer = await finished(request(app), 'succeeded', { inputsKey: key });
    await finished(request(app), 'failed', { inputsKey: key });
    await finished(request(app), 'succeeded', { inputsKey: key, image: false });
    expect((await store().lastSuccessWith(key))?.id).toBe(newer.id);
    expect(older.id).not.toBe(newer.id);
    const dev = await finished(request(app, { branch: 'dev' }), 'succeeded');
    expect((await store().lastSuccessfulBuild(app, 'main'))?.id).toBe(newer.id);
    expect((await store().lastSuccessfulBuild(app, 'dev'))?.id).toBe(dev.id);
    expect(await store().lastSuccessfulBuild(app, undefined)).toBeUndefined();
    const late = (await store().enqueue(request(app), { now: at(0), coalesce: false })).run;
    await store().setInputsKey(late.id, 'set-early');
    expect((await store().getRun(late.id))?.inputsKey).toBe('set-early');
  });

  it('numbers log lines without gaps, also under concurrent appends', async () => {
    const { run } = await store().enqueue(request(uniqueApp()), { now: at(0), coalesce: true });
    const line = (text: string) => ({ at: at(1), stage: 'test', line: text });
    expect(await store().appendLog(run.id, [line('a'), line('b'), line('c')])).toBe(3);
    expect(await store().appendLog(run.id, [])).toBe(3);
    expect((await store().readLog(run.id, 1)).map((l) => [l.seq, l.line])).toEqual([
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(await store().readLog(run.id, 0, 1)).toEqual([{ seq: 1, ...line('a') }]);
    await concurrently([store(), ...(await others(2))], 10, (s, i, round) =>
      s.appendLog(
        run.id,
        Array.from({ length: 5 }, (_, k) => line(`${i}-${round}-${k}`)),
      ),
    );
    const all = await store().readLog(run.id, 0, 10_000);
    expect(all.map((l) => l.seq)).toEqual(Array.from({ length: 153 }, (_, i) => i + 1));
    await expect(store().appendLog('no-such-run', [line('x')])).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('detects a replayed delivery by its id (one winner under concurrency)', async () => {
    const app = uniqueApp();
    const delivery = (id: string | undefined, result: 'accepted' | 'rejected' = 'accepted') => ({
      source: 'github',
      id,
      app,
      result,
      detail: 'queued',
      at: at(0),
    });
    const receive = (s: ServiceStore, d: ReturnType<typeof delivery>) =>
      s.receive({ delivery: d, requests: [] }).then((r) => r.delivery);
    expect(await receive(store(), delivery('d1'))).toBe('new');
    expect(await receive(store(), delivery('d1'))).toBe('duplicate');
    expect(await receive(store(), { ...delivery('d1'), app: uniqueApp() })).toBe('new');
    expect(await receive(store(), { ...delivery('d1'), source: 'azure' })).toBe('new');
    expect(await receive(store(), delivery(undefined, 'rejected'))).toBe('new');
    const raced = await concurrently([store(), ...(await others(2))], 5, (s) =>
      receive(s, delivery('d2')),
    );
    expect(raced.filter((r) => r === 'new')).toHaveLength(1);
    const listed = await store().listDeliveries({ app });
    expect(listed[0]).toMatchObject({ app, id: 'd2', result: 'duplicate' });
    expect(
      listed
        .filter((d) => d.result === 'accepted')
        .map((d) => d.id)
        .sort(),
    ).toEqual(['d1', 'd1', 'd2']);
    expect(listed.find((d) => d.result === 'rejected')?.id).toBeUndefined();
    expect(await store().listDeliveries({ app, limit: 2 })).toHaveLength(2);
  });

  it('stores what a delivery says byte for byte: quotes, backslashes, $1, NUL-free unicode', async () => {
    // PostgreSQL's intake sends its values inlined as literals (postgres/intake.ts).
    const app = uniqueApp();
    const odd = `it's a "test" \\ \\' $1 $2::text -- ; commit; ünïcødé 🚀 \n end`;
    const result = await store().receive({
      delivery: {
        source: 'generic',
        id: `${odd}-id`,
        app,
        result: 'accepted',
        detail: odd,
        at: at(0),
      },
      requests: [
        request(app, {
          branch: odd,
          cause: { trigger: 'commit', source: 'generic', pusher: odd },
        }),
      ],
    });
    expect(result.delivery).toBe('new');
    const [listed] = await store().listDeliveries({ app });
    expect(listed).toMatchObject({ id: `${odd}-id`, detail: odd });
    const run = await store().getRun(result.queued[0]!.run.id);
    expect(run).toMatchObject({ branch: odd, cause: { pusher: odd } });
    // The intake answers with the rows it wrote, not read back: they must be what is stored.
    expect(result.queued[0]!.run).toEqual(run);
  });

  it("queues an accepted delivery's runs with it, once, and coalesces them", async () => {
    const app = uniqueApp();
    const other = uniqueApp();
    const delivery = (id: string, forApp = app, result: 'accepted' | 'ignored' = 'accepted') => ({
      source: 'generic',
      id,
      app: forApp,
      result,
      detail: '',
      at: at(0),
    });
    // Concurrent deliveries (one group commit) for two apps, with a replay among them.
    const results = await Promise.all([
      store().receive({ delivery: delivery('a'), requests: [request(app, { commit: 'c1' })] }),
      store().receive({ delivery: delivery('b'), requests: [request(app, { commit: 'c2' })] }),
      store().receive({ delivery: delivery('a'), requests: [request(app, { commit: 'c1' })] }),
      store().receive({ delivery: delivery('x', other), requests: [request(other)] }),
      store().receive({ delivery: delivery('i', app, 'ignored'), requests: [request(app)] }),
    ]);
    expect(results.map((r) => [r.delivery, r.queued.length])).toEqual([
      ['new', 1],
      ['new', 1],
      ['duplicate', 0],
      ['new', 1],
      ['new', 0],
    ]);
    const [first, second] = [results[0].queued[0]!.run, results[1].queued[0]!.run];
    expect(results[1].queued[0]!.superseded).toEqual([first.id]);
    for (const { run } of results.flatMap((r) => r.queued))
      expect(run).toEqual(await store().getRun(run.id));
    const queued = (await store().listRuns({ app })).runs;
    expect(queued.map((r) => [r.id, r.status])).toEqual([
      [second.id, 'queued'],
      [first.id, 'superseded'],
    ]);
    expect((await store().listRuns({ app: other })).runs).toHaveLength(1);
  });

  it('gives each schedule fire to exactly one caller', async () => {
    const app = uniqueApp();
    const won = await concurrently([store(), ...(await others(2))], 7, (s) =>
      s.claimFire(app, 'nightly', at(0)),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await store().claimFire(app, 'nightly', at(86_400_000))).toBe(true);
    expect(await store().claimFire(app, 'hourly', at(0))).toBe(true);
  });

  it('keeps trigger state per app and key', async () => {
    const app = uniqueApp();
    expect(await store().getState(app, 'refs')).toBeUndefined();
    await store().setState(app, 'refs', 'a');
    await store().setState(app, 'refs', 'b');
    await store().setState(app, 'etag', '"1"');
    expect(await store().getState(app, 'refs')).toBe('b');
    expect(await store().getState(uniqueApp(), 'refs')).toBeUndefined();
  });

  it('stores tokens by hash, touches, lists and revokes them', async () => {
    const hash = createHash('sha256').update(randomBytes(32)).digest('hex');
    const id = `tok-${randomBytes(4).toString('hex')}`;
    const token = {
      id,
      hash,
      scope: 'read' as const,
      name: 'ci',
      createdAt: at(0),
      expiresAt: at(1000),
      revokedAt: undefined,
      lastUsedAt: undefined,
    };
    await store().createToken(token);
    expect(await store().findToken(hash)).toEqual(token);
    expect(await store().findToken('0'.repeat(64))).toBeUndefined();
    await store().touchToken(id, at(5));
    expect((await store().findToken(hash))?.lastUsedAt).toBe(at(5));
    expect((await store().listTokens()).map((t) => t.id)).toContain(id);
    expect(await store().revokeToken(id, at(10))).toBe(true);
    expect(await store().revokeToken(id, at(20))).toBe(true);
    expect((await store().findToken(hash))?.revokedAt).toBe(at(10));
    expect(await store().revokeToken('no-such-token', at(10))).toBe(false);
    await expect(store().createToken({ ...token, id: `${id}-2` })).rejects.toThrow();
  });
};
