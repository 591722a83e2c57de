/**
 * Webhook intake: a delivery is recorded and the runs it asks for are queued in one
 * transaction, so the store never holds an accepted delivery without its runs (a crash in
 * between would lose a push that the replay then calls a duplicate) nor a run without its
 * delivery. The store hands concurrent deliveries to one such transaction (group-commit.ts).
 *
 * SQLite runs in-process, where a statement costs no round trip: its transaction is the
 * plain sequence (lock, deliveries, duplicates, coalescing update, runs). PostgreSQL writes
 * the same rows in one round trip, three when the batch holds a replay (postgres/intake.ts).
 */
import { IntegrityError, systemCode } from '../../core/errors.js';
import { planEnqueue, supersededFrom, type EnqueuePlan } from './coalesce.js';
import { queueLockKeys, type ScriptResult, type ScriptSession } from './dialect.js';
import {
  inLockedTransaction,
  intakeInOneTrip,
  writeIntake,
  type IntakeWritten,
} from './postgres/intake.js';
import { lockQueues, enqueueLocked, type StoreContext } from './queue.js';
import { freshOf, recordDeliveries, recordDuplicates } from './records.js';
import { queuedRecord } from './rows.js';
import type { Intake, IntakeResult, RunRecord, RunRequest } from './types.js';

type Fresh = ReadonlyArray<'new' | 'duplicate'>;
type Wanted = Array<{ k: number; request: RunRequest; now: string }>;
type Queued = Array<{ run: RunRecord; superseded: string[] }>;

export async function receive(ctx: StoreContext, intakes: Intake[]): Promise<IntakeResult[]> {
  const apps = intakes.flatMap((i) => i.requests.map((r) => r.app));
  if (ctx.dialect.kind === 'postgres') {
    const { dialect } = ctx;
    if (dialect.script) {
      const script = dialect.script.bind(dialect);
      const queued = await receiveInOneTrip(ctx, script, intakes).catch((err: unknown) => {
        // A replay in the batch (or a delivery another process just stored): the general path.
        if (systemCode(err) === UNIQUE_VIOLATION) return undefined;
        throw err;
      });
      if (queued) return queued;
    }
    return inLockedTransaction(ctx.db, queueLockKeys(apps), (conn) =>
      receiveOnPostgres({ db: conn, dialect: ctx.dialect }, intakes),
    );
  }
  return ctx.db.transaction().execute(async (trx) => {
    const inner: StoreContext = { db: trx, dialect: ctx.dialect };
    await lockQueues(trx, ctx.dialect, apps);
    const fresh = await recordDeliveries(
      inner,
      intakes.map((i) => i.delivery),
    );
    const wanted = wantedOf(intakes, fresh);
    return resultsOf(intakes, fresh, wanted, await enqueueLocked(inner, wanted, true));
  });
}

const UNIQUE_VIOLATION = '23505';

/** The usual batch (no replay) on PostgreSQL: one script, one round trip. */
async function receiveInOneTrip(
  ctx: StoreContext,
  script: (build: (session: ScriptSession) => string) => Promise<ScriptResult[]>,
  intakes: Intake[],
): Promise<IntakeResult[]> {
  const deliveries = intakes.map((i) => i.delivery);
  const wanted = wantedOf(
    intakes,
    intakes.map(() => 'new'),
  );
  const plan = planEnqueue(wanted, true);
  const keys = queueLockKeys(intakes.flatMap((i) => i.requests.map((r) => r.app)));
  const written = await intakeInOneTrip(ctx.db, script, keys, deliveries, plan);
  return resultsOf(intakes, freshOf(deliveries, written.landed), wanted, queuedOf(plan, written));
}

/** The plan's runs as written (its rows, not read back), each with the runs it superseded. */
function queuedOf(plan: EnqueuePlan, written: IntakeWritten): Queued {
  if (written.wrote !== plan.rows.length)
    throw new IntegrityError(
      `service store: the intake wrote ${written.wrote} of its ${plan.rows.length} runs`,
    );
  supersededFrom(plan, written.replaced);
  return plan.rows.map((row, i) => ({
    run: queuedRecord(row),
    superseded: plan.superseded.get(plan.ids[i]!)!,
  }));
}

/** Inside the locked transaction: one statement, if the batch holds no replay (the usual case). */
async function receiveOnPostgres(inner: StoreContext, intakes: Intake[]): Promise<IntakeResult[]> {
  const deliveries = intakes.map((i) => i.delivery);
  const hoped = wantedOf(
    intakes,
    intakes.map(() => 'new'),
  );
  const plan = planEnqueue(hoped, true);
  const written = await writeIntake(inner.db, deliveries, plan);
  const fresh = freshOf(deliveries, written.landed);
  if (written.allNew) return resultsOf(intakes, fresh, hoped, queuedOf(plan, written));
  // A replay: the statement wrote the deliveries that landed and no runs. The rest of the
  // general path, in the same transaction: the duplicates, then the new deliveries' runs.
  await recordDuplicates(inner, deliveries, fresh);
  const wanted = wantedOf(intakes, fresh);
  return resultsOf(intakes, fresh, wanted, await enqueueLocked(inner, wanted, true));
}

/** The runs the new accepted deliveries ask for, in order, each with its delivery's index. */
function wantedOf(intakes: Intake[], fresh: Fresh): Wanted {
  return intakes.flatMap(({ delivery, requests }, k) =>
    fresh[k] === 'new' && delivery.result === 'accepted'
      ? requests.map((request) => ({ k, request, now: delivery.at }))
      : [],
  );
}

function resultsOf(intakes: Intake[], fresh: Fresh, wanted: Wanted, queued: Queued) {
  return intakes.map((_, k) => ({
    delivery: fresh[k]!,
    queued: queued.filter((_q, w) => wanted[w]!.k === k),
  }));
}
