/**
 * What a batch of enqueues writes, worked out before anything is written: the runs' ids and
 * rows (an earlier run of a key already superseded by the batch's next run of that key), and
 * the update that supersedes what was queued before. queue.ts executes the plan as two
 * statements; postgres/intake.ts embeds the same two in the one statement of an intake.
 */
import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Kysely } from 'kysely';
import { rowOfRequest } from './rows.js';
import type { Database, RunsTable } from './tables.js';
import type { RunRequest } from './types.js';

/**
 * A sortable, unique run id: RunStore.newId's time prefix, then 48 random bits (its 24 bits
 * would collide within a second at the ingestion rates the service must take).
 */
export function newRunId(now: string): string {
  const time = now.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // randomUUID draws from a cached block of entropy; randomBytes(6) was a call into the
  // CSPRNG per run. Its first 12 hex digits are random (the version digit comes after).
  const uuid = randomUUID();
  return `${time}-${uuid.slice(0, 8)}${uuid.slice(9, 13)}`;
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

export interface EnqueuePlan {
  /** The new runs' ids, one per entry, in order. */
  ids: string[];
  /** Their rows, in order: the queue's insertion order. */
  rows: Array<Omit<RunsTable, 'position'>>;
  /** Per new id: the runs it supersedes (so far the batch's own; see `supersededFrom`). */
  superseded: Map<string, string[]>;
  /** The first entry of each key: it supersedes that key's queued runs. Empty without coalescing. */
  heads: number[];
  entries: ReadonlyArray<{ request: RunRequest; now: string }>;
}

/**
 * Plans queueing these runs, in order, with the same result as enqueueing them one after
 * another. With `coalesce`, a run followed in the batch by one of the same key is written
 * superseded by it; the first of each key supersedes what was queued (replaceQueued).
 */
export function planEnqueue(
  entries: ReadonlyArray<{ request: RunRequest; now: string }>,
  coalesce: boolean,
): EnqueuePlan {
  const ids = entries.map((e) => newRunId(e.now));
  const superseded = new Map<string, string[]>(ids.map((id) => [id, []]));
  const rows = entries.map(({ request, now }, i) => rowOfRequest(request, ids[i]!, now));
  const firstOfKey = new Map<string, number>();
  if (coalesce) {
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
  }
  return { ids, rows, superseded, heads: [...firstOfKey.values()], entries };
}

/**
 * The update that supersedes the queued runs of the plan's keys, each by the batch's first
 * run of its key (superseded_by: a CASE over the keys), returning the rows it changed.
 * Undefined when the plan supersedes nothing. Not executed: the caller runs or embeds it.
 */
export function replaceQueued(db: Kysely<Database>, plan: EnqueuePlan) {
  const [head, ...rest] = plan.heads;
  if (head === undefined) return undefined;
  const { entries, ids } = plan;
  const last = entries[entries.length - 1]!.now;
  return db
    .updateTable('runs')
    .set((eb) => {
      let byKey = eb.case().when(sameKey(entries[head]!.request)(eb)).then(ids[head]!);
      for (const i of rest) byKey = byKey.when(sameKey(entries[i]!.request)(eb)).then(ids[i]!);
      return { status: 'superseded', finished_at: last, superseded_by: byKey.end() };
    })
    .where('status', '=', 'queued')
    .where(anyKey(plan.heads.map((i) => entries[i]!.request)))
    .returning(['id', 'superseded_by']);
}

/**
 * Adds the runs replaceQueued changed to the plan's lists. They keep pointing at the run that
 * replaced them: readers follow the links to the newest (superseded.ts), so a push costs the
 * same however long its burst is.
 */
export function supersededFrom(
  plan: EnqueuePlan,
  replaced: ReadonlyArray<{ id: string; superseded_by: string | null }>,
): void {
  for (const r of replaced)
    if (r.superseded_by !== null) plan.superseded.get(r.superseded_by)?.unshift(r.id);
}
