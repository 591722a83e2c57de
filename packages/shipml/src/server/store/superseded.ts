/**
 * Which run carries a superseded run's push: the newest of its burst. Enqueue writes only the
 * direct link (the queued run it replaced points at the new one), so a burst of k pushes on
 * one branch costs O(1) per push instead of re-pointing all k earlier runs each time (which
 * made ingestion quadratic: 2.6 → 9.4 ms per delivery as one burst grew from 1,000 to 3,000
 * pushes on SQLite, bench/server). Readers follow the links to the first run that was not
 * superseded, with one recursive query, and compress the path they walked, so the next read
 * of the burst is one hop.
 */
import { sql } from 'kysely';
import type { StoreContext } from './queue.js';
import type { RunRecord } from './types.js';

/** A guard against a cycle (links only ever point at newer runs, so none can form). */
const MAX_HOPS = 1_000_000;
/** Ids per UPDATE: well under both databases' bound-parameter limits. */
const UPDATE_CHUNK = 500;

/** The head of the chain that starts at run `id` (the first run not superseded), and the chain. */
async function follow(
  { db }: StoreContext,
  id: string,
): Promise<{ head: string | undefined; chain: string[] }> {
  const { rows } = await sql<{ id: string; status: string; depth: number }>`
    with recursive chain(id, status, next, depth) as (
      select id, status, superseded_by, 0 from runs where id = ${id}
      union all
      select r.id, r.status, r.superseded_by, c.depth + 1
        from runs r join chain c on r.id = c.next
        where c.status = 'superseded' and c.depth < ${MAX_HOPS}
    )
    select id, status, depth from chain order by depth`.execute(db);
  const head = rows.find((r) => r.status !== 'superseded')?.id;
  return { head, chain: rows.filter((r) => r.status === 'superseded').map((r) => r.id) };
}

/**
 * Sets each superseded run's `supersededBy` to the newest run of its burst (in place), and
 * points the rows walked at it in the store.
 */
export async function resolveSuperseded(ctx: StoreContext, runs: RunRecord[]): Promise<void> {
  const known = new Map<string, string>(); // a superseded run → the head of its burst
  const statusOf = new Map(runs.map((r) => [r.id, r.status]));
  // Oldest first: its walk covers the newer runs of the same burst.
  const pending = runs
    .filter((r) => r.status === 'superseded' && r.supersededBy)
    .sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
  for (const run of pending) {
    const target = run.supersededBy!;
    if (statusOf.get(target) !== undefined && statusOf.get(target) !== 'superseded') continue;
    let head = known.get(run.id) ?? known.get(target);
    if (head === undefined) {
      const walk = await follow(ctx, run.id);
      head = walk.head;
      if (head === undefined) continue; // a link to a run not (yet) visible: keep the direct one
      for (const id of walk.chain) known.set(id, head);
      // Path compression: the rows walked point at the head from now on.
      for (let i = 0; i + 1 < walk.chain.length; i += UPDATE_CHUNK)
        await ctx.db
          .updateTable('runs')
          .set({ superseded_by: head })
          .where('id', 'in', walk.chain.slice(i, i + UPDATE_CHUNK))
          .where('superseded_by', '<>', head)
          .execute();
    }
    run.supersededBy = head;
  }
}
