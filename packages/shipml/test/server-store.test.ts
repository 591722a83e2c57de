import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'libsql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ExternalServiceError, IntegrityError } from '../src/core/errors.js';
import { runServiceStoreConformance } from '../src/server/store/conformance.js';
import { at, request, uniqueApp } from '../src/server/store/conformance-fixtures.js';
import { openServiceStore, serviceStores } from '../src/server/store/registry.js';
import type { DeliveryRecord, ServiceStore } from '../src/server/store/types.js';
import { freePort } from './helpers/ports.js';
import {
  freshDatabase,
  postgresUrl,
  skipPostgres,
  SKIP_POSTGRES_REASON,
  withDatabase,
} from './helpers/postgres.js';

if (skipPostgres) console.warn(`server-store.test.ts: PostgreSQL cases ${SKIP_POSTGRES_REASON}`);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-server-store-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('sqlite', () => {
  // Every open is another handle on one file, as another process would have.
  runServiceStoreConformance('sqlite', () =>
    openServiceStore(`sqlite:${join(work, 'conformance.db')}`),
  );
  intakeCases(() => openServiceStore(`sqlite:${join(work, 'intake.db')}`));
});

describe.skipIf(skipPostgres)('postgres', () => {
  let url = '';
  let drop: () => Promise<void> = () => Promise.resolve();
  beforeAll(async () => {
    ({ url, drop } = await freshDatabase('conformance'));
  });
  afterAll(() => drop());
  // Every open is another pool: separate connections, as separate workers have.
  runServiceStoreConformance('postgres', () => openServiceStore(url));
  intakeCases(() => openServiceStore(url));
});

/**
 * Webhook intake beyond the conformance suite: PostgreSQL writes a batch with one statement
 * (store/postgres/intake.ts), SQLite with several; both must give the same result.
 */
function intakeCases(open: () => Promise<ServiceStore>): void {
  const delivery = (id: string | undefined, app: string, more: Partial<DeliveryRecord> = {}) => ({
    source: 'generic',
    id,
    app,
    result: 'accepted' as const,
    detail: '',
    at: at(1000),
    ...more,
  });

  it('receives a batch in one go: supersedes what was queued, per app, kind and branch', async () => {
    const store = await open();
    const a = uniqueApp();
    const b = `${uniqueApp()}-o'k\\`; // the queue lock's key is a quoted literal on PostgreSQL
    const enqueue = (app: string, branch?: string) =>
      store.enqueue(request(app, { branch }), { now: at(0), coalesce: true }).then((q) => q.run);
    const [q1, q2, q3] = [await enqueue(a, 'main'), await enqueue(a), await enqueue(b, 'main')];
    // Submitted together: one group commit.
    const results = await Promise.all([
      store.receive({ delivery: delivery('d1', a), requests: [request(a, { commit: 'c1' })] }),
      store.receive({ delivery: delivery('d2', a), requests: [request(a, { branch: undefined })] }),
      store.receive({ delivery: delivery('d3', a), requests: [request(a, { commit: 'c3' })] }),
      store.receive({ delivery: delivery('d4', b), requests: [request(b, { branch: 'dev' })] }),
      store.receive({
        delivery: delivery('d5', a, { result: 'ignored' }),
        requests: [request(a)],
      }),
      store.receive({ delivery: delivery(undefined, a, { result: 'rejected' }), requests: [] }),
    ]);
    expect(results.map((r) => [r.delivery, r.queued.length])).toEqual([
      ['new', 1],
      ['new', 1],
      ['new', 1],
      ['new', 1],
      ['new', 0],
      ['new', 0],
    ]);
    const [r1, r2, r3, r4] = results.map((r) => r.queued[0]!);
    expect(r1!.run).toMatchObject({ status: 'superseded', supersededBy: r3!.run.id });
    expect(r1!.superseded).toEqual([q1.id]);
    expect(r2!.superseded).toEqual([q2.id]);
    expect(r3!.superseded).toEqual([r1!.run.id]);
    expect(r4!.superseded).toEqual([]);
    expect(await store.getRun(r3!.run.id)).toEqual(r3!.run);
    const runs = async (app: string) =>
      (await store.listRuns({ app })).runs.map((r) => [r.id, r.status, r.supersededBy]);
    expect(await runs(a)).toEqual([
      [r3!.run.id, 'queued', undefined],
      [r2!.run.id, 'queued', undefined],
      [r1!.run.id, 'superseded', r3!.run.id],
      [q2.id, 'superseded', r2!.run.id],
      [q1.id, 'superseded', r3!.run.id], // readers follow the links to the newest
    ]);
    expect(await runs(b)).toEqual([
      [r4!.run.id, 'queued', undefined],
      [q3.id, 'queued', undefined],
    ]);
    const listed = await store.listDeliveries({ app: a });
    expect(listed.map((d) => [d.id, d.result])).toEqual([
      [undefined, 'rejected'],
      ['d5', 'ignored'],
      ['d3', 'accepted'],
      ['d2', 'accepted'],
      ['d1', 'accepted'],
    ]);
    await store.close();
  });

  it('keeps one queued run per branch when several processes receive its pushes at once', async () => {
    const stores = await Promise.all([open(), open(), open()]);
    const app = uniqueApp();
    const results = await Promise.all(
      stores.flatMap((store, s) =>
        Array.from({ length: 20 }, (_, i) =>
          store.receive({ delivery: delivery(`p${s}-${i}`, app), requests: [request(app)] }),
        ),
      ),
    );
    expect(results.every((r) => r.delivery === 'new' && r.queued.length === 1)).toBe(true);
    const { runs } = await stores[0].listRuns({ app, limit: 100 });
    expect(runs).toHaveLength(60);
    expect(runs.filter((r) => r.status === 'queued')).toHaveLength(1);
    expect(runs.filter((r) => r.status === 'superseded')).toHaveLength(59);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('retries a failed batch one delivery at a time: the bad one fails alone, writing nothing', async () => {
    const store = await open();
    const app = uniqueApp();
    const bad = { ...delivery('bad', app), at: undefined as unknown as string }; // NOT NULL
    const results = await Promise.allSettled([
      store.receive({ delivery: delivery('g1', app), requests: [request(app)] }),
      store.receive({ delivery: bad, requests: [request(app)] }),
      store.receive({ delivery: delivery('g2', app), requests: [request(app)] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ExternalServiceError);
    const listed = await store.listDeliveries({ app });
    expect(listed.map((d) => d.id)).toEqual(['g2', 'g1']);
    const { runs } = await store.listRuns({ app });
    expect(runs.map((r) => r.status)).toEqual(['queued', 'superseded']);
    // The connection the failed transaction used serves the next one.
    const next = await store.receive({ delivery: delivery('g3', app), requests: [] });
    expect(next.delivery).toBe('new');
    await store.close();
  });
}

describe('the service store registry', () => {
  it('lists each back end with its folder', async () => {
    const dir = new URL('../src/server/store/', import.meta.url);
    const folders = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && e.name !== 'migrations')
      .map((e) => e.name)
      .sort();
    expect([...serviceStores.ids].sort()).toEqual(folders);
    for (const id of folders)
      expect(await readdir(new URL(`./${id}/`, dir))).toEqual(
        expect.arrayContaining(['schema.ts', 'descriptor.ts', 'index.ts', 'README.md']),
      );
  });

  it('opens sqlite:PATH and a bare path as the same file', async () => {
    const file = join(work, 'same.db');
    const a = await openServiceStore(`sqlite:${file}`);
    const b = await openServiceStore(file);
    const { run } = await a.enqueue(request('same'), { now: at(0), coalesce: true });
    expect((await b.getRun(run.id))?.id).toBe(run.id);
    expect([a.kind, b.kind]).toEqual(['sqlite', 'sqlite']);
    await Promise.all([a.close(), b.close()]);
  });

  it('rejects unknown schemes and bad options without repeating a password', async () => {
    const err = await openServiceStore('mysql://user:hunter2@db/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).not.toContain('hunter2');
    expect((err as Error).message).toMatch(/sqlite:PATH or postgres:\/\//);
    const bad = await openServiceStore('postgres://user:hunter2@/').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).not.toContain('hunter2');
    const param = await openServiceStore('postgres://user:hunter2@h/db?password=hunter2').catch(
      (e: unknown) => e,
    );
    expect(param).toBeInstanceOf(ConfigError);
    expect((param as Error).message).not.toContain('hunter2');
    await expect(
      openServiceStore(join(work, 'o.db'), { options: { busyTimeoutMs: -1 } }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('reports an unreachable PostgreSQL as retryable, naming host and database, not the password', async () => {
    const port = await freePort();
    const err = await openServiceStore(`postgres://shipml:hunter2@127.0.0.1:${port}/jobs`).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExternalServiceError);
    expect((err as ExternalServiceError).retryable).toBe(true);
    expect((err as Error).message).toContain(`127.0.0.1:${port}/jobs`);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it.skipIf(skipPostgres)(
    'reports a wrong password as not retryable, without the password',
    async () => {
      const url = new URL(postgresUrl ?? 'postgres://x@h/d');
      url.password = 'wrong-secret-password';
      const err = await openServiceStore(url.toString()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalServiceError);
      expect((err as ExternalServiceError).retryable).toBe(false);
      expect((err as Error).message).not.toContain('wrong-secret-password');
      expect((err as Error).message).toContain(`${url.hostname}:${url.port}`);
    },
  );
});

/** Several processes starting at once each migrate: every migration applies once, all succeed. */
async function migrateTogether(url: string): Promise<ServiceStore[]> {
  const stores = await Promise.all(
    Array.from({ length: 4 }, () => openServiceStore(url, { migrate: false })),
  );
  await Promise.all(stores.map((s) => s.migrate()));
  await Promise.all(stores.map((s) => s.migrate()));
  const { run } = await stores[0]!.enqueue(request('m'), { now: at(0), coalesce: true });
  expect((await stores[3]!.getRun(run.id))?.id).toBe(run.id);
  return stores;
}

describe('migrations', () => {
  it('run once when several processes migrate one SQLite file at once', async () => {
    const stores = await migrateTogether(`sqlite:${join(work, 'migrate.db')}`);
    await Promise.all(stores.map((s) => s.close()));
    const db = new Sqlite(join(work, 'migrate.db'), { readonly: true });
    expect(db.prepare('select name from kysely_migration').all()).toEqual([
      { name: '001-initial' },
      { name: '002-coalescing-index' },
    ]);
    db.close();
  });

  it.skipIf(skipPostgres)(
    'run once when several processes migrate one PostgreSQL database at once',
    async () => {
      const { url, drop } = await freshDatabase('migrate');
      try {
        const stores = await migrateTogether(url);
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await drop();
      }
      expect(withDatabase(url, 'x')).toMatch(/\/x$/);
    },
  );
});

describe('rows read back', () => {
  it('are validated: a damaged row is an IntegrityError naming it, not a run', async () => {
    const file = join(work, `rows-${randomBytes(3).toString('hex')}.db`);
    const store = await openServiceStore(file);
    const { run } = await store.enqueue(request('rows'), { now: at(0), coalesce: true });
    const db = new Sqlite(file);
    db.prepare('update runs set cause = \'{"trigger":"telepathy"}\' where id = ?').run(run.id);
    db.close();
    const err = await store.getRun(run.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(run.id);
    await expect(store.listRuns({ app: 'rows' })).rejects.toBeInstanceOf(IntegrityError);
    await store.close();
  });
});
