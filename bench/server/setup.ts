/**
 * What the server benchmarks share: a service on a given database (SQLite in a temp dir, or a
 * fresh PostgreSQL database), a real bare git repository with the tests' tiny app, signed
 * generic webhooks, percentiles, and a direct count of the rows the store wrote.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'libsql';
import pg from 'pg';
import { defaultServiceStoreUrl } from '../../packages/shipml/src/server/store/registry.js';
import { signHmacSha256 } from '../../packages/shipml/src/server/triggers/verify.js';
import { freshDatabase } from '../../packages/shipml/test/helpers/postgres.js';
import {
  startService,
  testRepo,
  tinyApp,
  type RunningService,
  type TestRepo,
} from '../../packages/shipml/test/helpers/server.js';

export const HOOK_SECRET = 'bench-hook-secret-3f1a';
export type Backend = 'sqlite' | 'postgres';

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export interface Database {
  /** The config's `database` value. */
  setting: string;
  /** SELECT count(*) … on it. */
  count(sql: string): Promise<number>;
  drop(): Promise<void>;
}

export async function database(backend: Backend, dataDir: string): Promise<Database> {
  if (backend === 'sqlite')
    return {
      setting: 'sqlite',
      count(sql) {
        const url = defaultServiceStoreUrl(dataDir);
        const db = new Sqlite(url.replace(/^sqlite:/, ''), { readonly: true });
        try {
          return Promise.resolve(Number((db.prepare(sql).get() as { n: number }).n));
        } finally {
          db.close();
        }
      },
      drop: () => Promise.resolve(),
    };
  const fresh = await freshDatabase('bench');
  return {
    setting: fresh.url,
    async count(sql) {
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
      } finally {
        await client.end();
      }
    },
    drop: fresh.drop,
  };
}

export interface Bench {
  root: string;
  repo: TestRepo;
  db: Database;
  srv: RunningService;
  close(): Promise<void>;
}

/**
 * A service with one app `app` (generic webhook, plus `triggers`), built from `files` (the
 * tiny app by default), on `backend`, in this process.
 */
export async function bench(
  backend: Backend,
  options: {
    files?: Record<string, string>;
    slots?: number;
    triggers?: string[];
    appExtra?: string[];
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<Bench> {
  const root = await mkdtemp(join(tmpdir(), 'shipml-bench-server-'));
  const repo = await testRepo(join(root, 'repo'), options.files ?? tinyApp());
  const dataDir = join(root, 'data');
  const db = await database(backend, dataDir);
  const config = [
    `dataDir: ${dataDir}`,
    `database: "${db.setting}"`,
    `worker: { slots: ${options.slots ?? 1}, leaseSeconds: 10 }`,
    'apps:',
    '  - name: app',
    `    repository: ${repo.bare}`,
    '    release: manual',
    ...(options.appExtra ?? []).map((l) => `    ${l}`),
    '    triggers:',
    '      - { type: generic, secret: "${HOOK_SECRET}", branches: ["*"] }',
    ...(options.triggers ?? []).map((t) => `      - ${t}`),
  ].join('\n');
  const srv = await startService(
    config,
    { ...process.env, HOOK_SECRET, ...options.env },
    { dir: root },
  );
  return {
    root,
    repo,
    db,
    srv,
    async close() {
      await srv.stop().catch((err: Error) => log(`stopping the service: ${err.message}`));
      await db.drop().catch((err: Error) => log(`dropping the database: ${err.message}`));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A generic hook delivery's body and headers (signed). */
export function delivery(
  commit: string,
  id: string,
  branch = 'main',
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ ref: `refs/heads/${branch}`, commit });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shipml-delivery': id,
      'x-shipml-signature': signHmacSha256(HOOK_SECRET, Buffer.from(body)),
    },
  };
}

export async function sendHook(url: string, commit: string, id: string, branch?: string) {
  const d = delivery(commit, id, branch);
  const res = await fetch(`${url}/hooks/app/generic`, {
    method: 'POST',
    headers: d.headers,
    body: d.body,
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await res.json()) as { runs?: string[] };
  if (res.status !== 202)
    throw new Error(`webhook answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer.runs ?? [];
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Polls `check` every `everyMs` until it gives a value, at most `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { FINAL_STATUSES as FINAL } from '../../packages/shipml/src/server/store/types.js';

/** A change to the built code (so the skip rule cannot reuse an earlier image). */
export const codeChange = (i: number | string) => ({
  'index.js': `${tinyApp()['index.js']}// change ${i}\n`,
});
