/**
 * The queue on the store: enqueue with coalescing, and claim (leases.ts: renew, finish,
 * expiry, cancel). One code path for SQLite and PostgreSQL; what differs sits in dialect.ts.
 *
 * Why it is safe with many processes: every write that depends on what it read runs in one
 * transaction. On SQLite that transaction is IMMEDIATE (the one write lock, taken up front);
 * on PostgreSQL claimers lock candidate rows with FOR UPDATE SKIP LOCKED and take a per-app
 * advisory lock before counting the app's running runs, so two workers can neither take one
 * run nor both start the app's last free slot.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { lockKey, lockRows, type StoreDialect } from './dialect.js';
import { rowOfRequest, runFromRow } from './rows.js';
import type { Database } from './tables.js';
import type { ClaimOptions, RunRecord, RunRequest } from './types.js';

export interface StoreContext {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
}

/** Queued rows one claim considers (and, on PostgreSQL, locks) before it gives up. */
const CANDIDATES = 8;
/** Claim attempts when other claimers held the rows or apps it wanted. */
const CONTENDED_ATTEMPTS = 4;

/**
 * A sortable, unique run id: RunStore.newId's time prefix, then 48 random bits (its 24 bits
 * would collide within a second at the ingestion rates the service must take).
 */
export function newRunId(now: string): string {
  const time = now.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${time}-${randomBytes(6).toString('hex')}`;
}

/** Rows of one (app, kind, branch): the coalescing key. A missing branch matches only NULL. */
export const sameKey =
  (request: Pick<RunRequest, 'app' | 'kind' | 'branch'>) =>
  (eb: ExpressionBuilder<Database, 'runs'>) =>
    eb.and([
      eb('app', '=', request.app),
      eb('kind', '=', request.kind),
      request.branch === undefined ? eb('branch', 'is', null) : eb('branch', '=', request.branch),
    ]);

export function plus(now: string, ms: number): string {
  return new Date(Date.parse(now) + ms).toISOString();
}

export async function enqueue(
  ctx: StoreContext,
  request: RunRequest,
  options: { now: string; coalesce: boolean },
): Promise<{ run: RunRecord; superseded: string[] }> {
  return ctx.db.transaction().execute(async (trx) => {
    await lockQueues(trx, ctx.dialect, [request.app]);
    const [queued] = await enqueueLocked(
      { db: trx, dialect: ctx.dialect },
      [{ request, now: options.now }],
      options.coalesce,
    );
    return queued!;
  });
}

/**
 * Serializes enqueues of these apps, so two racing pushes cannot both stay queued. Taken in
 * one order (sorted) by every transaction: two batches of several apps cannot deadlock.
 */
export async function lockQueues(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  apps: readonly string[],
): Promise<void> {
  for (const app of [...new Set(apps)].sort()) await lockKey(trx, dialect, `queue:${app}`, true);
}

/**
 * Rows of any of these keys, as `app = ? and kind = ? and branch in (...)` per (app, kind):
 * both databases walk the coalescing index for an IN list, where an OR of whole keys made
 * PostgreSQL scan every queued run of the app.
 */
const anyKey =
  (requests: ReadonlyArray<Pick<RunRequest, 'app' | 'kind' | 'branch'>>) =>
  (eb: ExpressionBuilder<Database, 'runs'>) => {
    const groups = new Map<
      string,
      { app: string; kind: string; branches: Set<string | undefined> }
    >();
    for (const r of requests) {
      const key = JSON.stringify([r.app, r.kind]);
      const group = groups.get(key) ?? { app: r.app, kind: r.kind, branches: new Set() };
      group.branches.add(r.branch);
      groups.set(key, group);
    }
    return eb.or(
      [...groups.values()].map(({ app, kind, branches }) => {
        const named = [...branches].filter((b): b is string => b !== undefined);
        return eb.and([
          eb('app', '=', app),
          eb('kind', '=', kind),
          eb.or([
            ...(named.length > 0 ? [eb('branch', 'in', named)] : []),
            ...(branches.has(undefined) ? [eb('branch', 'is', null)] : []),
          ]),
        ]);
      }),
    );
  };

const keyOf = (r: Pick<RunRequest, 'app' | 'kind' | 'branch'>) =>
  JSON.stringify([r.app, r.kind, r.branch ?? null]);

/**
 * Queues runs, in order, inside a transaction that holds their apps' queue locks
 * (lockQueues), in a fixed number of statements however many there are: the same result as
 * enqueueing them one after another. With `coalesce`, a run followed in the batch by one of
 * the same key is written superseded by it; the first of each key supersedes what was queued.
 */
export async function enqueueLocked(
  { db }: StoreContext,
  entries: ReadonlyArray<{ request: RunRequest; now: string }>,
  coalesce: boolean,
): Promise<Array<{ run: RunRecord; superseded: string[] }>> {
  if (entries.length === 0) return [];
  const ids = entries.map((e) => newRunId(e.now));
  const superseded = new Map<string, string[]>(ids.map((id) => [id, []]));
  const rows = entries.map(({ request, now }, i) => rowOfRequest(request, ids[i]!, now));
  if (coalesce) {
    const firstOfKey = new Map<string, number>();
    const lastOfKey = new Map<string, number>();
    entries.forEach(({ request }, i) => {
      const key = keyOf(request);
      const before = lastOfKey.get(key);
      if (before === undefined) firstOfKey.set(key, i);
      else {
        Object.assign(rows[before]!, {
          status: 'superseded',
          superseded_by: ids[i]!,
          finished_at: entries[i]!.now,
        });
        superseded.get(ids[i]!)!.push(ids[before]!);
      }
      lastOfKey.set(key, i);
    });
    const firsts = [...firstOfKey.values()];
    const last = entries[entries.length - 1]!.now;
    const replaced = await db
      .updateTable('runs')
      .set((eb) => {
        // superseded_by: the batch's first run of the row's key (a CASE over the keys).
        const [head, ...rest] = firsts;
        let byKey = eb.case().when(sameKey(entries[head!]!.request)(eb)).then(ids[head!]!);
        for (const i of rest) byKey = byKey.when(sameKey(entries[i]!.request)(eb)).then(ids[i]!);
        return { status: 'superseded', finished_at: last, superseded_by: byKey.end() };
      })
      .where('status', '=', 'queued')
      .where(anyKey(firsts.map((i) => entries[i]!.request)))
      .returning(['id', 'superseded_by'])
      .execute();
    // Runs these had replaced keep pointing at them: readers follow the links to the
    // newest (superseded.ts), so a push costs the same however long its burst is.
    for (const r of replaced) superseded.get(r.superseded_by!)?.unshift(r.id);
  }
  const written = await db.insertInto('runs').values(rows).returningAll().execute();
  const byId = new Map(written.map((row) => [row.id, runFromRow(row)]));
  return ids.map((id) => ({ run: byId.get(id)!, superseded: superseded.get(id)! }));
}

export async function claim(
  ctx: StoreContext,
  options: ClaimOptions,
): Promise<RunRecord | undefined> {
  if (options.apps.length === 0) return undefined;
  for (let attempt = 1; ; attempt++) {
    const { run, contended } = await claimOnce(ctx, options);
    if (run || !contended || attempt >= CONTENDED_ATTEMPTS) return run;
    await sleep(2 + Math.random() * 8);
  }
}

async function runningOf(db: Kysely<Database>, apps: readonly string[]) {
  const rows = await db
    .selectFrom('runs')
    .select((eb) => [
      'app',
      eb.fn.countAll<number>().as('running'),
      eb.fn.sum<number>('deploys').as('deploying'),
    ])
    .where('status', '=', 'running')
    .where('app', 'in', apps)
    .groupBy('app')
    .execute();
  return new Map(
    rows.map((r) => [r.app, { running: Number(r.running), deploying: Number(r.deploying) }]),
  );
}

async function claimOnce(
  { db, dialect }: StoreContext,
  options: ClaimOptions,
): Promise<{ run: RunRecord | undefined; contended: boolean }> {
  return db.transaction().execute(async (trx) => {
    // A first look leaves out apps already at their limit, so their queued runs cannot hide
    // other apps' runs. Re-checked under the app's lock below, which is what decides.
    const before = await runningOf(trx, options.apps);
    const full = new Set(
      options.apps.filter((a) => (before.get(a)?.running ?? 0) >= options.concurrency(a)),
    );
    const deploying = new Set(options.apps.filter((a) => (before.get(a)?.deploying ?? 0) > 0));
    const locked = new Set<string>();
    let contended = false;
    let cursor = 0;
    for (let look = 0; look < CANDIDATES; look++) {
      // One row at a time: each claimer locks only the row it considers, so concurrent
      // claimers (skipping each other's rows) start different runs in parallel.
      const row = await lockRows(
        trx
          .selectFrom('runs')
          .selectAll()
          .where('status', '=', 'queued')
          .where('position', '>', cursor)
          .where('app', 'in', options.apps)
          .$if(full.size > 0, (q) => q.where('app', 'not in', [...full]))
          .$if(deploying.size > 0, (q) =>
            q.where((eb) => eb.or([eb('deploys', '=', 0), eb('app', 'not in', [...deploying])])),
          )
          .orderBy('position')
          .limit(1),
        dialect,
      ).executeTakeFirst();
      if (!row) break;
      cursor = row.position;
      // The first app's lock is waited for: claimers of one busy app then take turns instead
      // of failing. Further apps are only tried: a transaction that waits for one lock only
      // can never be part of a deadlock.
      const wait = locked.size === 0;
      if (!locked.has(row.app) && !(await lockKey(trx, dialect, `claim:${row.app}`, wait))) {
        contended = true;
        full.add(row.app);
        continue;
      }
      locked.add(row.app);
      const now = (await runningOf(trx, [row.app])).get(row.app) ?? { running: 0, deploying: 0 };
      if (now.running >= options.concurrency(row.app)) {
        full.add(row.app);
        continue;
      }
      if (row.deploys && now.deploying > 0) {
        deploying.add(row.app); // a later run of the app that does not deploy may go
        continue;
      }
      const claimed = await trx
        .updateTable('runs')
        .set({
          status: 'running',
          worker: options.worker,
          started_at: options.now,
          lease_expires_at: plus(options.now, options.leaseMs),
        })
        .where('id', '=', row.id)
        .where('status', '=', 'queued')
        .returningAll()
        .executeTakeFirst();
      if (claimed) return { run: runFromRow(claimed), contended };
    }
    return { run: undefined, contended };
  });
}
