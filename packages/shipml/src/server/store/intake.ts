/**
 * Webhook intake: a delivery is recorded and the runs it asks for are queued in one
 * transaction, so the store never holds an accepted delivery without its runs (a crash in
 * between would lose a push that the replay then calls a duplicate) nor a run without its
 * delivery. The store hands concurrent deliveries to one such transaction (group-commit.ts).
 */
import { lockQueues, enqueueLocked, type StoreContext } from './queue.js';
import { recordDeliveries } from './records.js';
import type { Intake, IntakeResult } from './types.js';

export async function receive(ctx: StoreContext, intakes: Intake[]): Promise<IntakeResult[]> {
  return ctx.db.transaction().execute(async (trx) => {
    const inner: StoreContext = { db: trx, dialect: ctx.dialect };
    await lockQueues(
      trx,
      ctx.dialect,
      intakes.flatMap((i) => i.requests.map((r) => r.app)),
    );
    const fresh = await recordDeliveries(
      inner,
      intakes.map((i) => i.delivery),
    );
    const wanted = intakes.flatMap(({ delivery, requests }, k) =>
      fresh[k] === 'new' && delivery.result === 'accepted'
        ? requests.map((request) => ({ k, request, now: delivery.at }))
        : [],
    );
    const queued = await enqueueLocked(inner, wanted, true);
    return intakes.map((_, k) => ({
      delivery: fresh[k]!,
      queued: queued.filter((_q, w) => wanted[w]!.k === k),
    }));
  });
}
