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
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
import { planEnqueue, replaceQueued, supersededFrom } from './coalesce.js';
import { lockKey, lockRows, queueLockKeys, type StoreDialect } from './dialect.js';
import { queuedRecord, runFromRow } from './rows.js';
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

// leases.ts (a retry's id, "a newer run of its branch is queued") uses these too.
export { newRunId, sameKey } from './coalesce.js';

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
  for (const key of queueLockKeys(apps)) await lockKey(trx, dialect, key, true);
}

/**
 * Queues runs, in order, inside a transaction that holds their apps' queue locks
 * (lockQueues), in a fixed number of statements however many there are: the same result as
 * enqueueing them one after another (coalesce.ts plans them).
 */
export async function enqueueLocked(
  { db }: StoreContext,
  entries: ReadonlyArray<{ request: RunRequest; now: string }>,
  coalesce: boolean,
): Promise<Array<{ run: RunRecord; superseded: string[] }>> {
  if (entries.length === 0) return [];
  const plan = planEnqueue(entries, coalesce);
  const update = replaceQueued(db, plan);
  if (update) supersededFrom(plan, await update.execute());
  await db.insertInto('runs').values(plan.rows).execute();
  return plan.rows.map((row, i) => ({
    run: queuedRecord(row),
    superseded: plan.superseded.get(plan.ids[i]!)!,
  }));
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
