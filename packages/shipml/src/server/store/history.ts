/**
 * Run history and logs: listing, queue depth, the skip rule's lookups, numbered log lines.
 * One code path for both back ends.
 */
import { NotFoundError } from '../../core/errors.js';
import type { StoreContext } from './queue.js';
import { logFromRow, runFromRow } from './rows.js';
import { resolveSuperseded } from './superseded.js';
import type { LogLine, RunFilter, RunRecord } from './types.js';

/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 500;

export async function getRun(ctx: StoreContext, id: string): Promise<RunRecord | undefined> {
  const row = await ctx.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const run = runFromRow(row);
  await resolveSuperseded(ctx, [run]);
  return run;
}

export async function listRuns(
  ctx: StoreContext,
  filter: RunFilter,
): Promise<{ runs: RunRecord[]; next: string | undefined }> {
  const { db } = ctx;
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), 500);
  const before = filter.before;
  const rows = await db
    .selectFrom('runs')
    .selectAll()
    .$if(filter.app !== undefined, (q) => q.where('app', '=', filter.app!))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(filter.kind !== undefined, (q) => q.where('kind', '=', filter.kind!))
    .$if(filter.branch !== undefined, (q) => q.where('branch', '=', filter.branch!))
    .$if(before !== undefined, (q) =>
      q.where('position', '<', (eb) =>
        eb.selectFrom('runs as b').select('b.position').where('b.id', '=', before!),
      ),
    )
    .orderBy('position', 'desc')
    .limit(limit + 1) // one more tells whether a next page exists
    .execute();
  const runs = rows.slice(0, limit).map(runFromRow);
  await resolveSuperseded(ctx, runs);
  return { runs, next: rows.length > limit ? runs.at(-1)?.id : undefined };
}

export async function queueDepth({
  db,
}: StoreContext): Promise<Array<{ app: string; queued: number; running: number }>> {
  const rows = await db
    .selectFrom('runs')
    .select((eb) => [
      'app',
      eb.fn.sum<number>(eb.case().when('status', '=', 'queued').then(1).else(0).end()).as('queued'),
      eb.fn
        .sum<number>(eb.case().when('status', '=', 'running').then(1).else(0).end())
        .as('running'),
    ])
    .where('status', 'in', ['queued', 'running'])
    .groupBy('app')
    .orderBy('app')
    .execute();
  return rows.map((r) => ({ app: r.app, queued: Number(r.queued), running: Number(r.running) }));
}

/** Succeeded builds (kind run) that produced an image: the only runs worth reusing. */
function builds({ db }: StoreContext) {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('status', '=', 'succeeded')
    .where('kind', '=', 'run')
    .where('built_image', 'is not', null)
    .orderBy('position', 'desc')
    .limit(1);
}

export async function lastSuccessWith(
  ctx: StoreContext,
  inputsKey: string,
): Promise<RunRecord | undefined> {
  const row = await builds(ctx).where('inputs_key', '=', inputsKey).executeTakeFirst();
  return row ? runFromRow(row) : undefined;
}

export async function lastSuccessfulBuild(
  ctx: StoreContext,
  app: string,
  branch: string | undefined,
): Promise<RunRecord | undefined> {
  const row = await builds(ctx)
    .where('app', '=', app)
    .where((eb) => (branch === undefined ? eb('branch', 'is', null) : eb('branch', '=', branch)))
    .executeTakeFirst();
  return row ? runFromRow(row) : undefined;
}

export async function appendLog(
  { db }: StoreContext,
  runId: string,
  lines: ReadonlyArray<Omit<LogLine, 'seq'>>,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    // The counter on the run row is bumped and read in one statement (which locks the row):
    // concurrent appenders get disjoint ranges, and a failed insert rolls the bump back.
    const bumped = await trx
      .updateTable('runs')
      .set((eb) => ({ log_seq: eb('log_seq', '+', lines.length) }))
      .where('id', '=', runId)
      .returning('log_seq')
      .executeTakeFirst();
    if (!bumped) throw new NotFoundError(`run ${runId} not found`);
    const last = Number(bumped.log_seq);
    const first = last - lines.length + 1;
    for (let i = 0; i < lines.length; i += INSERT_CHUNK) {
      const chunk = lines.slice(i, i + INSERT_CHUNK);
      await trx
        .insertInto('run_logs')
        .values(
          chunk.map((l, j) => ({
            run_id: runId,
            seq: first + i + j,
            at: l.at,
            stage: l.stage,
            line: l.line,
          })),
        )
        .execute();
    }
    return last;
  });
}

export async function readLog(
  { db }: StoreContext,
  runId: string,
  afterSeq: number,
  limit = 1000,
): Promise<LogLine[]> {
  const rows = await db
    .selectFrom('run_logs')
    .select(['seq', 'at', 'stage', 'line'])
    .where('run_id', '=', runId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(Math.max(1, Math.trunc(limit)))
    .execute();
  return rows.map((r) => logFromRow(r, runId));
}
