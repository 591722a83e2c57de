/**
 * The first schema: runs (the queue and the history), their logs, webhook deliveries,
 * schedule fires, trigger state and API tokens. Never edit an applied migration: add 002.
 */
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { DialectKind } from '../dialect.js';

/** An insertion-order integer key: SQLite's AUTOINCREMENT (never reused) or PostgreSQL's serial. */
function serial(kind: DialectKind): {
  type: 'integer' | 'serial';
  modify: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
} {
  return kind === 'sqlite'
    ? { type: 'integer', modify: (c) => c.primaryKey().autoIncrement() }
    : { type: 'serial', modify: (c) => c.primaryKey() };
}

export function initial(kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const key = serial(kind);
      await db.schema
        .createTable('runs')
        .addColumn('position', key.type, key.modify)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('branch', 'text')
        .addColumn('commit_sha', 'text')
        .addColumn('model_ref', 'text')
        .addColumn('image', 'text')
        .addColumn('deploys', 'integer', (c) => c.notNull())
        .addColumn('retry_of', 'text')
        .addColumn('cause', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('queued_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('worker', 'text')
        .addColumn('lease_expires_at', 'text')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('superseded_by', 'text')
        .addColumn('inputs_key', 'text')
        .addColumn('error', 'text')
        .addColumn('report', 'text')
        .addColumn('built_image', 'text')
        .addColumn('log_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // The claim and coalescing scans, the history's filters, the skip rule.
      await db.schema
        .createIndex('runs_status')
        .on('runs')
        .columns(['status', 'position'])
        .execute();
      await db.schema
        .createIndex('runs_app')
        .on('runs')
        .columns(['app', 'status', 'kind'])
        .execute();
      await db.schema
        .createIndex('runs_superseded_by')
        .on('runs')
        .column('superseded_by')
        .execute();
      await db.schema
        .createIndex('runs_inputs_key')
        .on('runs')
        .columns(['inputs_key', 'status'])
        .execute();

      await db.schema
        .createTable('run_logs')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('line', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_logs_pk', ['run_id', 'seq'])
        .execute();

      await db.schema
        .createTable('deliveries')
        .addColumn('position', key.type, key.modify)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      // Duplicate detection is this constraint, not a read before the write: two replays
      // racing each other cannot both be accepted.
      await db.schema
        .createIndex('deliveries_accepted_once')
        .on('deliveries')
        .columns(['source', 'app', 'delivery_id'])
        .unique()
        .where(sql.ref('result'), '=', 'accepted')
        .execute();
      await db.schema
        .createIndex('deliveries_app')
        .on('deliveries')
        .columns(['app', 'position'])
        .execute();

      await db.schema
        .createTable('fires')
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('fire_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('fires_pk', ['app', 'schedule', 'fire_at'])
        .execute();

      await db.schema
        .createTable('trigger_state')
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('trigger_state_pk', ['app', 'key'])
        .execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('last_used_at', 'text')
        .execute();
    },
  };
}
