/**
 * Leases: renew, finish, expiry (interrupted runs and their one retry), cancel. A worker's
 * hold on a run is checked in each UPDATE's WHERE (its name, status running, lease not yet
 * expired), so a worker whose lease expired cannot renew or finish, whatever it believes.
 */
import { InternalError } from '../../core/errors.js';
import { RunReportSchema } from '../../pipeline/report-schema.js';
import { lockKey, lockRows } from './dialect.js';
import { newRunId, plus, sameKey, type StoreContext } from './queue.js';
import { requestOf, rowOfRequest, runFromRow } from './rows.js';
import type { FinishStatus, RunRecord, RunRequest, ServiceStore } from './types.js';

export async function renew(
  { db }: StoreContext,
  runId: string,
  worker: string,
  options: { now: string; leaseMs: number },
): ReturnType<ServiceStore['renew']> {
  {
    const row = await db
      .updateTable('runs')
      .set({ lease_expires_at: plus(options.now, options.leaseMs) })
      .where('id', '=', runId)
      .where('worker', '=', worker)
      .where('status', '=', 'running')
      .where('lease_expires_at', '>', options.now)
      .returning('cancel_requested')
      .executeTakeFirst();
    return row ? { held: true, cancelRequested: Boolean(row.cancel_requested) } : { held: false };
  }
}

export async function finish(
  { db }: StoreContext,
  runId: string,
  worker: string,
  result: Parameters<ServiceStore['finish']>[2],
): Promise<boolean> {
  const status: FinishStatus = result.status;
  let report: string | null = null;
  if (result.report) {
    // Checked on the way in too: a report that would not read back would hide the run.
    const parsed = RunReportSchema.safeParse(result.report);
    if (!parsed.success)
      throw new InternalError(`run ${runId}: report is not shaped like a RunReport`);
    report = JSON.stringify(result.report);
  }
  const updated = await db
    .updateTable('runs')
    .set({
      status,
      finished_at: result.now,
      error: result.error ?? null,
      report,
      built_image: result.report?.image?.reference ?? null,
      ...(result.inputsKey ? { inputs_key: result.inputsKey } : {}),
    })
    .where('id', '=', runId)
    .where('worker', '=', worker)
    .where('status', '=', 'running')
    .where('lease_expires_at', '>', result.now)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

export async function expireLeases(
  { db, dialect }: StoreContext,
  now: string,
): Promise<{ interrupted: RunRecord[]; retried: RunRecord[] }> {
  return db.transaction().execute(async (trx) => {
    // Ordered by app: queue locks are then always taken in one order (no deadlock between
    // two expirers), and each expirer skips the rows another one holds.
    const rows = await lockRows(
      trx
        .selectFrom('runs')
        .selectAll()
        .where('status', '=', 'running')
        .where('lease_expires_at', '<', now)
        .orderBy('app')
        .orderBy('position'),
      dialect,
    ).execute();
    const interrupted: RunRecord[] = [];
    const retried: RunRecord[] = [];
    for (const row of rows) {
      await lockKey(trx, dialect, `queue:${row.app}`, true);
      const newer = await trx
        .selectFrom('runs')
        .select('id')
        .where(
          sameKey({
            app: row.app,
            kind: row.kind as RunRequest['kind'],
            branch: row.branch ?? undefined,
          }),
        )
        .where('status', '=', 'queued')
        .where('position', '>', row.position)
        .executeTakeFirst();
      const first = row.attempt < 2;
      const why = `interrupted: worker ${row.worker ?? '?'} stopped renewing its lease`;
      const error = !first
        ? `${why} (attempt ${row.attempt}: not retried again)`
        : newer
          ? `${why} (not retried: the newer run ${newer.id} is queued)`
          : `${why} (retried)`;
      const gone = await trx
        .updateTable('runs')
        .set({ status: 'interrupted', finished_at: now, error })
        .where('id', '=', row.id)
        .where('status', '=', 'running')
        .where('lease_expires_at', '<', now)
        .returningAll()
        .executeTakeFirst();
      if (!gone) continue;
      const run = runFromRow(gone);
      interrupted.push(run);
      // A newer queued run of the same key would be older than a retry queued now: the
      // retry would run after it and ship the older commit. The newer run replaces it.
      if (!first || newer) continue;
      const retry = await trx
        .insertInto('runs')
        .values(rowOfRequest(requestOf(run), newRunId(now), now, run.attempt + 1))
        .returningAll()
        .executeTakeFirstOrThrow();
      retried.push(runFromRow(retry));
    }
    return { interrupted, retried };
  });
}

export async function cancel(
  { db }: StoreContext,
  runId: string,
  now: string,
): Promise<RunRecord | undefined> {
  const queued = await db
    .updateTable('runs')
    .set({ status: 'cancelled', finished_at: now, error: 'cancelled before it started' })
    .where('id', '=', runId)
    .where('status', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
  if (queued) return runFromRow(queued);
  // The worker sees the request when it renews its lease, and ends the stage it runs.
  const running = await db
    .updateTable('runs')
    .set({ cancel_requested: 1 })
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .returningAll()
    .executeTakeFirst();
  if (running) return runFromRow(running);
  const final = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
  return final ? runFromRow(final) : undefined;
}
