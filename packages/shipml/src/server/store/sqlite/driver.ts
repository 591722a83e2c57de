/**
 * Kysely's SQLite dialect with two changes the service needs:
 *
 * - Transactions are BEGIN IMMEDIATE: a transaction takes the database's one write lock
 *   before its first read, so a claim or an enqueue cannot decide on a snapshot another
 *   process changes underneath it (a deferred transaction fails with SQLITE_BUSY when it
 *   upgrades to write, or decides on stale reads). Kysely's migrator then runs migrations in
 *   one such transaction (SQLite's DDL is transactional), which makes concurrent migrators
 *   safe.
 * - Waiting for the lock is asynchronous. better-sqlite3's busy timeout waits inside the
 *   statement, blocking the event loop: the server could not answer HTTP meanwhile, and a
 *   second store in the same process (tests, embedded worker) could never release the lock
 *   the first one is waiting for. So the connection's busy timeout is 0 and SQLITE_BUSY is
 *   retried here, after a timer, until the configured timeout. A busy statement did not run,
 *   so trying it again is always safe.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type QueryResult,
} from 'kysely';
import { systemCode } from '../../../core/errors.js';

export function isBusy(err: unknown): boolean {
  const code = systemCode(err);
  return (
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_LOCKED' ||
    (code?.startsWith('SQLITE_BUSY_') ?? false)
  );
}

class WaitingConnection implements DatabaseConnection {
  constructor(
    private readonly inner: DatabaseConnection,
    private readonly busyTimeoutMs: number,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
      try {
        return await this.inner.executeQuery<R>(query);
      } catch (err) {
        if (!isBusy(err) || Date.now() >= deadline) throw err;
        await sleep(wait * (0.5 + Math.random())); // jitter: two waiters do not retry in step
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class WaitingImmediateDriver extends SqliteDriver {
  constructor(
    database: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
  ) {
    super({ database });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    return new WaitingConnection(await super.acquireConnection(), this.busyTimeoutMs);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** The dialect the SQLite store runs on (see the file comment). */
export class ServiceSqliteDialect extends SqliteDialect {
  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
  ) {
    super({ database });
  }

  override createDriver(): SqliteDriver {
    return new WaitingImmediateDriver(this.database, this.busyTimeoutMs);
  }

  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlAdapter();
  }
}
