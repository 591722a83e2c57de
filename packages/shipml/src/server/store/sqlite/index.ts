/**
 * The SQLite back end: libsql (SQLite with better-sqlite3's synchronous API, installed as a
 * prebuilt binary from the npm registry: no compiler, no download from GitHub) in WAL mode, so readers never
 * wait for the writer; one writer at a time, in IMMEDIATE transactions that wait for the
 * write lock without blocking the event loop (driver.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Sqlite from 'libsql';
import { Kysely } from 'kysely';
import { ConfigError, ExternalServiceError, systemCode } from '../../../core/errors.js';
import type { StoreDialect } from '../dialect.js';
import { KyselyServiceStore } from '../service-store.js';
import type { Database } from '../tables.js';
import type { ServiceStore } from '../types.js';
import { isBusy, ServiceSqliteDialect } from './driver.js';
import type { SqliteStoreOptions } from './schema.js';

/** The file a `sqlite:PATH` URL (or a bare path) names, absolute; `sqlite::memory:` for tests. */
export function sqlitePath(url: string): string {
  const path = url.startsWith('sqlite:')
    ? url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    : url;
  if (!path) throw new ConfigError('service store: a sqlite: URL needs a file path (sqlite:PATH)');
  return path === ':memory:' ? path : resolve(path);
}

export function openSqliteStore(url: string, options: SqliteStoreOptions): ServiceStore {
  const path = sqlitePath(url);
  const dialect: StoreDialect = {
    kind: 'sqlite',
    where: path,
    classify: (err) => ({ retryable: isBusy(err), code: systemCode(err) }),
  };
  let database: Sqlite.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // The busy timeout applies while opening (WAL setup may wait for another process);
    // afterwards it is 0 and driver.ts waits without blocking the event loop.
    database = new Sqlite(path, { timeout: options.busyTimeoutMs });
    database.pragma('journal_mode = WAL');
    // NORMAL is durable across a crash of the process (what SIGKILL does) in WAL mode; only
    // a power loss may take the last commits back.
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 0');
  } catch (err) {
    const { retryable, code } = dialect.classify(err);
    throw new ExternalServiceError(
      `service store ${path}: cannot open: ${(err as Error).message}`,
      {
        retryable,
        ...(code ? { serviceCode: code } : {}),
        cause: err,
      },
    );
  }
  const db = new Kysely<Database>({
    dialect: new ServiceSqliteDialect(database, options.busyTimeoutMs),
  });
  return new KyselyServiceStore(db, dialect);
}
