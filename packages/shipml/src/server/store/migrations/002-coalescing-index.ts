/**
 * Coalescing looks up the queued runs of one (app, kind, branch). 001's runs_app index
 * (app, status, kind) stops at the branch, so with many branches queued every enqueue
 * scanned all of the app's queued runs: ingestion slowed as the queue grew.
 */
import type { Kysely, Migration } from 'kysely';

export const coalescingIndex: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('runs_coalescing')
      .on('runs')
      .columns(['app', 'kind', 'branch', 'status'])
      .execute();
  },
};
