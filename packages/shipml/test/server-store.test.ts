import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ExternalServiceError, IntegrityError } from '../src/core/errors.js';
import { runServiceStoreConformance } from '../src/server/store/conformance.js';
import { at, request } from '../src/server/store/conformance-fixtures.js';
import { openServiceStore, serviceStores } from '../src/server/store/registry.js';
import type { ServiceStore } from '../src/server/store/types.js';
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
});

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
    const db = new BetterSqlite3(join(work, 'migrate.db'), { readonly: true });
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
    const db = new BetterSqlite3(file);
    db.prepare('update runs set cause = \'{"trigger":"telepathy"}\' where id = ?').run(run.id);
    db.close();
    const err = await store.getRun(run.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(run.id);
    await expect(store.listRuns({ app: 'rows' })).rejects.toBeInstanceOf(IntegrityError);
    await store.close();
  });
});
