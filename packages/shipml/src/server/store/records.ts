/**
 * Webhook deliveries, schedule fires, trigger state and API tokens. Where two processes may
 * race (a replayed delivery, a schedule fire), a unique constraint decides, never a read
 * before the write.
 */
import { sql } from 'kysely';
import type { StoreContext } from './queue.js';
import { deliveryFromRow, tokenFromRow } from './rows.js';
import type { DeliveryRecord, TokenRecord } from './types.js';

/** The deliveries table's row of a delivery. */
export const rowOfDelivery = (d: DeliveryRecord) => ({
  source: d.source,
  delivery_id: d.id ?? null,
  app: d.app,
  result: d.result,
  detail: d.detail,
  at: d.at,
});

/** What an insert of deliveries returns of each row it wrote. */
export interface LandedDelivery {
  source: string;
  app: string;
  delivery_id: string | null;
  result: string;
}

/**
 * Records deliveries, in order, in two statements however many there are. An accepted
 * delivery whose (source, app, id) was accepted before — or earlier in the same batch — is
 * `duplicate` and recorded as such.
 */
export async function recordDeliveries(
  ctx: StoreContext,
  deliveries: readonly DeliveryRecord[],
): Promise<Array<'new' | 'duplicate'>> {
  if (deliveries.length === 0) return [];
  // The partial unique index decides: of two racing replays exactly one insert lands (the
  // first of a batch: rows are inserted in order). Other results never conflict with it.
  const landed = await ctx.db
    .insertInto('deliveries')
    .values(deliveries.map(rowOfDelivery))
    .onConflict((oc) =>
      // A literal, not a parameter: SQLite matches the partial index by its WHERE's text.
      oc
        .columns(['source', 'app', 'delivery_id'])
        .where('result', '=', sql.lit('accepted'))
        .doNothing(),
    )
    .returning(['source', 'app', 'delivery_id', 'result'])
    .execute();
  const fresh = freshOf(deliveries, landed);
  await recordDuplicates(ctx, deliveries, fresh);
  return fresh;
}

/**
 * Which deliveries were new, from the rows their insert wrote (which skipped an accepted
 * delivery's row when its key was accepted before): of one key, only the first can be.
 */
export function freshOf(
  deliveries: readonly DeliveryRecord[],
  landed: readonly LandedDelivery[],
): Array<'new' | 'duplicate'> {
  const keyOf = (source: string, app: string, id: string | null) =>
    JSON.stringify([source, app, id]);
  const keys = new Set(
    landed.filter((r) => r.result === 'accepted').map((r) => keyOf(r.source, r.app, r.delivery_id)),
  );
  return deliveries.map((d) => {
    if (d.result !== 'accepted' || d.id === undefined) return 'new' as const;
    return keys.delete(keyOf(d.source, d.app, d.id)) ? ('new' as const) : ('duplicate' as const);
  });
}

/** Records the duplicates among deliveries whose own rows were skipped (freshOf). */
export async function recordDuplicates(
  { db }: StoreContext,
  deliveries: readonly DeliveryRecord[],
  fresh: ReadonlyArray<'new' | 'duplicate'>,
): Promise<void> {
  const duplicates = deliveries.filter((_, i) => fresh[i] === 'duplicate');
  if (duplicates.length > 0)
    await db
      .insertInto('deliveries')
      .values(
        duplicates.map((d) => ({
          ...rowOfDelivery(d),
          result: 'duplicate',
          detail: 'replayed delivery: already accepted',
        })),
      )
      .execute();
}

export async function listDeliveries(
  { db }: StoreContext,
  options: { app?: string; limit?: number },
): Promise<DeliveryRecord[]> {
  const rows = await db
    .selectFrom('deliveries')
    .selectAll()
    .$if(options.app !== undefined, (q) => q.where('app', '=', options.app!))
    .orderBy('position', 'desc')
    .limit(Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000))
    .execute();
  return rows.map(deliveryFromRow);
}

export async function claimFire(
  { db }: StoreContext,
  app: string,
  schedule: string,
  fireAt: string,
): Promise<boolean> {
  const row = await db
    .insertInto('fires')
    .values({ app, schedule, fire_at: fireAt })
    .onConflict((oc) => oc.columns(['app', 'schedule', 'fire_at']).doNothing())
    .returning('app')
    .executeTakeFirst();
  return row !== undefined;
}

export async function getState(
  { db }: StoreContext,
  app: string,
  key: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('trigger_state')
    .select('value')
    .where('app', '=', app)
    .where('key', '=', key)
    .executeTakeFirst();
  return typeof row?.value === 'string' ? row.value : undefined;
}

export async function setState(
  { db }: StoreContext,
  app: string,
  key: string,
  value: string,
): Promise<void> {
  await db
    .insertInto('trigger_state')
    .values({ app, key, value })
    .onConflict((oc) => oc.columns(['app', 'key']).doUpdateSet({ value }))
    .execute();
}

export async function createToken({ db }: StoreContext, t: TokenRecord): Promise<void> {
  await db
    .insertInto('tokens')
    .values({
      id: t.id,
      hash: t.hash,
      scope: t.scope,
      name: t.name,
      created_at: t.createdAt,
      expires_at: t.expiresAt ?? null,
      revoked_at: t.revokedAt ?? null,
      last_used_at: t.lastUsedAt ?? null,
    })
    .execute();
}

export async function findToken(
  { db }: StoreContext,
  hash: string,
): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
  return row ? tokenFromRow(row) : undefined;
}

export async function touchToken({ db }: StoreContext, id: string, now: string): Promise<void> {
  await db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', id).execute();
}

export async function listTokens({ db }: StoreContext): Promise<TokenRecord[]> {
  const rows = await db
    .selectFrom('tokens')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(tokenFromRow);
}

export async function revokeToken({ db }: StoreContext, id: string, now: string): Promise<boolean> {
  // The first revocation's time stays: revoking twice is not an error.
  await db
    .updateTable('tokens')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await db.selectFrom('tokens').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}
