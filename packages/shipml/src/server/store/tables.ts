/**
 * The tables of the service store, as Kysely sees them. Column types are the lowest common
 * denominator of SQLite and PostgreSQL, so one code path serves both: text for ids, times
 * (ISO 8601 UTC, which sorts as text) and JSON; integers for flags (0/1) and counters.
 * Rows are validated with zod when read back (rows.ts): the types here are what we write.
 */
import type { Generated } from 'kysely';

export interface RunsTable {
  /** Insertion order (autoincrement): the queue's FIFO and the history's "newest first". */
  position: Generated<number>;
  id: string;
  app: string;
  kind: string;
  branch: string | null;
  commit_sha: string | null;
  model_ref: string | null;
  image: string | null;
  deploys: number;
  retry_of: string | null;
  /** RunCause as JSON. */
  cause: string;
  status: string;
  attempt: number;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  worker: string | null;
  lease_expires_at: string | null;
  cancel_requested: number;
  superseded_by: string | null;
  inputs_key: string | null;
  error: string | null;
  /** RunReport as JSON. */
  report: string | null;
  /** report.image.reference, copied out so the skip rule can ask for "runs with an image". */
  built_image: string | null;
  /** The last log line's seq: bumped atomically by appendLog, so seqs have no gaps. */
  log_seq: number;
}

export interface RunLogsTable {
  run_id: string;
  seq: number;
  at: string;
  stage: string;
  line: string;
}

export interface DeliveriesTable {
  position: Generated<number>;
  source: string;
  delivery_id: string | null;
  app: string;
  result: string;
  detail: string;
  at: string;
}

export interface FiresTable {
  app: string;
  schedule: string;
  fire_at: string;
}

export interface TriggerStateTable {
  app: string;
  key: string;
  value: string;
}

export interface TokensTable {
  id: string;
  hash: string;
  scope: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface Database {
  runs: RunsTable;
  run_logs: RunLogsTable;
  deliveries: DeliveriesTable;
  fires: FiresTable;
  trigger_state: TriggerStateTable;
  tokens: TokensTable;
}
