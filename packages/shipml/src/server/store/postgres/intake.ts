/**
 * Webhook intake on PostgreSQL in one round trip, however many deliveries a batch holds:
 * one script of `begin`, the queue locks, one statement that writes the deliveries and their
 * runs (data-modifying CTEs) and `commit` (intakeInOneTrip); three when the batch holds a
 * replay (inLockedTransaction around writeIntake). The general path (intake.ts on SQLite) is
 * six: begin, lock, three statements, commit — and on a busy 2-core machine each round trip
 * to PostgreSQL costs about a millisecond of waiting, which bounded ingestion below 1,000
 * deliveries a second (bench/server).
 *
 * Why not one statement in an implicit transaction: the queue lock must be granted before
 * the statement that reads the queued runs takes its snapshot (read committed takes one per
 * statement); a lock taken inside that statement would leave it blind to a run another
 * process committed while it waited, and two runs of one branch would stay queued.
 */
import { sql, type Kysely } from 'kysely';
import { replaceQueued, type EnqueuePlan } from '../coalesce.js';
import { beginWithLocksSql, type ScriptResult, type ScriptSession } from '../dialect.js';
import { executeSql } from './prepared.js';
import { rowOfDelivery, type LandedDelivery } from '../records.js';
import type { Database } from '../tables.js';
import type { DeliveryRecord } from '../types.js';

/**
 * Runs `fn` on one connection in a transaction that holds the locks of `keys` (in their
 * order) from its first statement on; commits when `fn` returns, rolls back when it throws.
 * Begin and locks are one round trip (dialect.ts beginWithLocksSql).
 */
export async function inLockedTransaction<T>(
  db: Kysely<Database>,
  keys: readonly string[],
  fn: (conn: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    let result: T;
    try {
      await sql.raw(beginWithLocksSql(keys)).execute(conn);
      result = await fn(conn);
    } catch (err) {
      // A failed rollback means a dead connection: the pool discards it (pg-pool checks
      // _queryable) and PostgreSQL has ended the transaction with the session.
      await sql
        .raw('rollback')
        .execute(conn)
        .catch(() => undefined);
      throw err;
    }
    // PostgreSQL completes COMMIT with a ROLLBACK tag when the transaction had failed.
    const { rows } = await sql.raw<{ command?: string }>('commit').execute(conn);
    if (rows[0]?.command === 'ROLLBACK')
      throw new Error('the intake transaction was rolled back by PostgreSQL');
    return result;
  });
}

export interface IntakeWritten {
  /** Every accepted delivery of the batch was new: the planned runs were written. */
  allNew: boolean;
  /** What the deliveries' insert wrote (an accepted replay's row is skipped). */
  landed: LandedDelivery[];
  /** Queued runs the plan superseded (only when allNew). */
  replaced: Array<{ id: string; superseded_by: string | null }>;
  /** How many of the plan's runs were written (all of them when allNew, else none). */
  wrote: number;
}

/**
 * One statement: inserts the deliveries (the partial unique index skips an accepted replay),
 * and — only if every accepted delivery landed, i.e. the batch holds no replay — supersedes
 * the queued runs of the plan's keys and inserts the plan's runs. All parts share one
 * snapshot, so the update cannot see the runs the statement inserts, as when the two run
 * one after the other. A batch with a replay writes no runs here: the plan assumed every
 * delivery new, and the caller queues what the new ones ask for in the same transaction.
 * With `replays: 'fail'` a replay is a unique violation (23505) instead, failing the batch.
 *
 * Rows travel as JSON, typed by the tables' own row types (jsonb_populate_recordset), so the
 * statement's text is the same for every batch of one shape and its parameters are few.
 */
function intakeStatement(
  db: Kysely<Database>,
  deliveries: readonly DeliveryRecord[],
  plan: EnqueuePlan,
  replays: 'skip' | 'fail',
) {
  const accepted = deliveries.filter((d) => d.result === 'accepted').length;
  const update = replaceQueued(db, plan)?.where(sql<boolean>`(select ok from fresh)`);
  const replaced = update ?? sql`select null::text as id, null::text as superseded_by where false`;
  const columns = sql.join(Object.keys(plan.rows[0] ?? { id: '' }).map((c) => sql.ref(c)));
  const onConflict =
    replays === 'skip'
      ? sql`on conflict (source, app, delivery_id) where result = 'accepted' do nothing`
      : sql``;
  return sql<WrittenRow>`
    with landed as (
      insert into deliveries (source, delivery_id, app, result, detail, at)
      select source, delivery_id, app, result, detail, at
        from jsonb_populate_recordset(null::deliveries, ${JSON.stringify(deliveries.map(rowOfDelivery))}::jsonb)
          with ordinality as d
        order by d.ordinality
      ${onConflict}
      returning source, app, delivery_id, result
    ),
    fresh as (
      select count(*) = ${accepted} as ok from landed where result = 'accepted'
    ),
    replaced as (${replaced}),
    written as (
      insert into runs (${columns})
      select ${columns}
        from jsonb_populate_recordset(null::runs, ${JSON.stringify(plan.rows)}::jsonb)
          with ordinality as r
        where (select ok from fresh)
        order by r.ordinality
      returning id
    )
    select (select ok from fresh) as ok,
      coalesce((select json_agg(l) from landed l), '[]'::json) as landed,
      coalesce((select json_agg(x) from replaced x), '[]'::json) as replaced,
      (select count(*)::int from written) as wrote
  `;
}

interface WrittenRow {
  ok: boolean;
  landed: LandedDelivery[];
  replaced: IntakeWritten['replaced'];
  wrote: number;
}

const written = (row: WrittenRow): IntakeWritten => ({
  allNew: row.ok,
  landed: row.landed,
  replaced: row.replaced,
  wrote: Number(row.wrote),
});

/** The statement inside a transaction the caller holds (the general path's second step). */
export async function writeIntake(
  db: Kysely<Database>,
  deliveries: readonly DeliveryRecord[],
  plan: EnqueuePlan,
): Promise<IntakeWritten> {
  const { rows } = await intakeStatement(db, deliveries, plan, 'skip').execute(db);
  return written(rows[0]!);
}

/**
 * The whole intake in one round trip: begin, the locks, the statement and commit as one
 * script. The statement is prepared once per connection (prepared.ts: PostgreSQL planned it
 * in about 1 ms of CPU per batch) and EXECUTEd with its parameters inlined as literals (a
 * script has none); its text depends only on the batch's number of keys. A replay fails it with a
 * unique violation, rolled back; the caller then takes the general path, which tells
 * replays apart. Each statement of a script takes its own snapshot, so the statement sees
 * every commit made before the locks were granted, as in inLockedTransaction.
 */
export async function intakeInOneTrip(
  db: Kysely<Database>,
  script: (build: (session: ScriptSession) => string) => Promise<ScriptResult[]>,
  keys: readonly string[],
  deliveries: readonly DeliveryRecord[],
  plan: EnqueuePlan,
): Promise<IntakeWritten> {
  const statement = intakeStatement(db, deliveries, plan, 'fail').compile(db);
  const results = await script((session) =>
    [
      beginWithLocksSql(keys),
      executeSql(session.prepared(statement.sql), statement.parameters),
      'commit',
    ].join('; '),
  );
  if (results.at(-1)?.command !== 'COMMIT')
    throw new Error('the intake transaction was rolled back by PostgreSQL');
  return written(results.at(-2)!.rows[0] as WrittenRow);
}
