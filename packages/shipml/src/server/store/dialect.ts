/**
 * What differs between SQLite and PostgreSQL, and nothing else: row locking for the claim,
 * per-key transaction locks, and which driver errors are worth retrying. The store itself
 * (queue.ts, history.ts) is one code path over Kysely.
 */
import { sql, type SelectQueryBuilder, type Transaction } from 'kysely';
import { ExternalServiceError, ShipmlError } from '../../core/errors.js';
import type { Database } from './tables.js';

export type DialectKind = 'sqlite' | 'postgres';

export interface StoreDialect {
  readonly kind: DialectKind;
  /** Where errors say the store is: a file path, or host:port/database (never a password). */
  readonly where: string;
  /** The driver's error, classified: retryable when the database was unreachable or busy. */
  classify(err: unknown): { retryable: boolean; code: string | undefined };
  /**
   * PostgreSQL only: runs a script of several statements in one round trip (the simple query
   * protocol: no parameters) on one connection, one result per statement. When a statement
   * fails, the open transaction is rolled back before the connection is reused. `build`
   * gets the connection's session, whose prepared statements the script may EXECUTE.
   */
  script?(build: (session: ScriptSession) => string): Promise<ScriptResult[]>;
}

/**
 * A connection's prepared statements (session-level PREPARE), for scripts: a statement
 * PostgreSQL has planned once per connection instead of once per script. Planning the
 * intake's statement cost PostgreSQL about 1 ms of CPU per batch, more than running it.
 */
export interface ScriptSession {
  /**
   * The name under which `text` (a statement with $n placeholders) is prepared on this
   * connection; when it is not yet, the script is preceded by its PREPARE.
   */
  prepared(text: string): string;
}

/** One statement's result in a script. */
export interface ScriptResult {
  command: string;
  rows: unknown[];
}

/**
 * Locks the selected rows against other claimers and skips rows they hold (PostgreSQL's
 * FOR UPDATE SKIP LOCKED). SQLite needs nothing: write transactions are IMMEDIATE there, so
 * the transaction already holds the database's one write lock.
 */
export function lockRows<QB extends SelectQueryBuilder<Database, keyof Database, object>>(
  qb: QB,
  dialect: StoreDialect,
): QB {
  return dialect.kind === 'postgres' ? (qb.forUpdate().skipLocked() as QB) : qb;
}

/** The first key of our two-key advisory locks: ShipML's namespace ('SHML'), apart from Kysely's. */
const LOCK_NAMESPACE = 0x53484d4c;

/**
 * Takes a lock on `key` held until the transaction ends (PostgreSQL advisory lock): `wait`
 * blocks until it is free, otherwise false when another transaction holds it. On SQLite the
 * IMMEDIATE transaction holds the whole database: always true.
 */
export async function lockKey(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  key: string,
  wait: boolean,
): Promise<boolean> {
  if (dialect.kind === 'sqlite') return true;
  if (wait) {
    await sql`select pg_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(${key}))`.execute(trx);
    return true;
  }
  const { rows } = await sql<{
    ok: boolean;
  }>`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(${key})) as ok`.execute(trx);
  return rows[0]?.ok === true;
}

/**
 * The queue locks of these apps, in the one order every transaction takes them (sorted):
 * two batches of several apps cannot deadlock.
 */
export function queueLockKeys(apps: readonly string[]): string[] {
  return [...new Set(apps)].sort().map((app) => `queue:${app}`);
}

/** A PostgreSQL string literal (pg's escapeLiteral): right whatever standard_conforming_strings is. */
export function literal(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/**
 * PostgreSQL only: one simple-protocol query (no parameters, so several statements travel in
 * one round trip) that begins a transaction and takes these keys' locks, in order — what
 * lockKey(…, true) takes, so both exclude each other. Each statement of a simple query gets a
 * snapshot of its own, so what runs after the locks sees every commit made before they were
 * granted.
 */
export function beginWithLocksSql(keys: readonly string[]): string {
  return [
    'begin',
    ...keys.map(
      (key) => `select pg_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(${literal(key)}))`,
    ),
  ].join('; ');
}

/** Wraps a driver error: one line naming the store, retryable when trying again may help. */
export function storeError(err: unknown, dialect: StoreDialect, what: string): ShipmlError {
  if (err instanceof ShipmlError) return err;
  const { retryable, code } = dialect.classify(err);
  const message = err instanceof Error ? err.message : String(err);
  return new ExternalServiceError(`service store ${dialect.where}: ${what}: ${message}`, {
    retryable,
    ...(code ? { serviceCode: code } : {}),
    cause: err,
    ...(retryable ? { hint: 'the database is unreachable or busy: ShipML retries' } : {}),
  });
}
