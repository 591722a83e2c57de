/**
 * Kysely's SQLite dialect with two changes the service needs:
 *
 * - Transactions are BEGIN IMMEDIATE: a transaction takes the database's one write lock
 *   before its first read, so a claim or an enqueue cannot decide on a snapshot another
 *   process changes underneath it (a deferred transaction fails with SQLITE_BUSY when it
 *   upgrades to write, or decides on stale reads). Kysely's migrator then runs migrations in
 *   one such transaction (SQLite's DDL is transactional), which makes concurrent migrators
 *   safe.
 * - Waiting for the lock is asynchronous. SQLite's busy timeout waits inside the
 *   statement, blocking the event loop: the server could not answer HTTP meanwhile, and a
 *   second store in the same process (tests, embedded worker) could never release the lock
 *   the first one is waiting for. So the connection's busy timeout is 0 and SQLITE_BUSY is
 *   retried here, after a timer, until the configured timeout. A busy statement did not run,
 *   so trying it again is always safe.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Sqlite from 'libsql';
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

/** Prepared statements kept (by SQL text) per connection: preparing costs more than running. */
const STATEMENTS_KEPT = 256;

class WaitingConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Sqlite.Statement>();

  constructor(
    private readonly database: Sqlite.Database,
    private readonly inner: DatabaseConnection,
    private readonly busyTimeoutMs: number,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
      try {
        return this.run<R>(query);
      } catch (err) {
        if (!isBusy(err) || Date.now() >= deadline) throw err;
        await sleep(wait * (0.5 + Math.random())); // jitter: two waiters do not retry in step
      }
    }
  }

  /** What Kysely's SqliteConnection does, on a kept statement. */
  private run<R>({ sql, parameters }: CompiledQuery): QueryResult<R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.database.prepare(sql);
      if (this.statements.size >= STATEMENTS_KEPT)
        this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return {
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    };
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class WaitingImmediateDriver extends SqliteDriver {
  private connection: WaitingConnection | undefined;

  constructor(
    private readonly database: Sqlite.Database,
    private readonly busyTimeoutMs: number,
  ) {
    super({ database });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    // Kysely's SQLite driver has one connection, handed out under its mutex: one wrapper
    // (with its kept statements) for the life of the driver.
    const inner = await super.acquireConnection();
    this.connection ??= new WaitingConnection(this.database, inner, this.busyTimeoutMs);
    return this.connection;
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
    private readonly database: Sqlite.Database,
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
