/**
 * The PostgreSQL back end: pg's pool under Kysely. The claim locks rows with FOR UPDATE
 * SKIP LOCKED (queue.ts); Kysely's migrator holds an advisory lock while it migrates, so
 * several processes starting at once apply each migration once.
 *
 * Restarts: when PostgreSQL goes away, calls fail with retryable ExternalServiceErrors; the
 * pool drops the dead connections and opens new ones for the next call, so the store works
 * again as soon as the server is back, without reopening it.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { ConfigError, NETWORK_ERROR_CODES, systemCode } from '../../../core/errors.js';
import type { ScriptSession, StoreDialect } from '../dialect.js';
import { KyselyServiceStore } from '../service-store.js';
import type { Database } from '../tables.js';
import type { ServiceStore } from '../types.js';
import { preparedOn } from './prepared.js';
import type { PostgresStoreOptions } from './schema.js';

/** SQLSTATEs after which the same call may succeed: the server restarting, full, or a lock race. */
const RETRYABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '55P03']);
/** pg's own errors for a connection that died or never came: they carry no code. */
const RETRYABLE_MESSAGE =
  /connection terminated|timeout exceeded when trying to connect|connection error|not queryable|ECONNREFUSED/i;

export interface PostgresAddress {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  ssl: boolean;
}

/** Parses a postgres:// URL. Errors never repeat the URL: it may carry the password. */
export function parsePostgresUrl(url: string): PostgresAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('service store: not a valid postgres:// URL', {
      hint: 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters)',
    });
  }
  const user = decodeURIComponent(parsed.username);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!host || !user || !database || database.includes('/'))
    throw new ConfigError('service store: a postgres:// URL needs a user, a host and a database', {
      hint: 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE',
    });
  let ssl = false;
  for (const [key, value] of parsed.searchParams) {
    if (key !== 'sslmode' || !['disable', 'require'].includes(value))
      throw new ConfigError(
        `service store ${host}/${database}: only the URL parameter sslmode=disable|require is supported`,
      );
    ssl = value === 'require';
  }
  return {
    host,
    port: parsed.port ? Number(parsed.port) : 5432,
    database,
    user,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    ssl,
  };
}

export function openPostgresStore(url: string, options: PostgresStoreOptions): ServiceStore {
  const address = parsePostgresUrl(url);
  const dialect: StoreDialect = {
    kind: 'postgres',
    where: `${address.host}:${address.port}/${address.database}`,
    classify: (err) => {
      const code = systemCode(err);
      const message = err instanceof Error ? err.message : String(err);
      const retryable =
        (code !== undefined &&
          (NETWORK_ERROR_CODES.has(code) || code.startsWith('08') || RETRYABLE_STATES.has(code))) ||
        RETRYABLE_MESSAGE.test(message);
      return { retryable, code };
    },
    script: (build) => script(build), // defined below, with the pool
  };
  const script = async (build: (session: ScriptSession) => string) => {
    const client = await pool.connect();
    const prepared = preparedOn(client);
    let broken: Error | undefined;
    try {
      const text = prepared.script(build);
      const result = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(result) ? result : [result]).map((r) => ({
        command: r.command,
        rows: r.rows as unknown[],
      }));
    } catch (err) {
      prepared.failed();
      // A failed statement leaves the script's transaction open and aborted; a failed
      // rollback means a dead connection, which must not go back to the pool.
      await client.query('rollback').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e));
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };
  const pool = new pg.Pool({
    host: address.host,
    port: address.port,
    database: address.database,
    user: address.user,
    ...(address.password !== undefined ? { password: address.password } : {}),
    ...(address.ssl ? { ssl: true } : {}),
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'shipml',
    ...(options.statementTimeoutMs > 0 ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // A connection that dies (PostgreSQL restarted) emits 'error': on the pool while idle, on
  // the client while checked out (a transaction between two statements). Without listeners
  // the process would crash. The call that uses it fails (retryable); the pool discards a
  // dead client when it comes back (pg-pool checks _queryable) and opens a new one.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyServiceStore(db, dialect);
}
