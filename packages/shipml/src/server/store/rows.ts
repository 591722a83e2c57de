/**
 * Rows as read back, validated with zod (DESIGN: validate what ShipML itself wrote earlier):
 * a row that does not have the shape of one — edited by hand, written by something else, a
 * report cut short — is an IntegrityError naming the row, never a basis for running or
 * reusing anything. Also the other direction: records to rows.
 */
import { z } from 'zod';
import { IntegrityError } from '../../core/errors.js';
import { RunReportSchema } from '../../pipeline/report-schema.js';
import type { RunsTable } from './tables.js';
import {
  RUN_STATUSES,
  type DeliveryRecord,
  type LogLine,
  type RunRecord,
  type RunRequest,
  type TokenRecord,
} from './types.js';

/** SQL NULL (or absent) reads back as undefined. */
const opt = <T extends z.ZodType>(schema: T) =>
  schema
    .nullable()
    .optional()
    .transform((v) => v ?? undefined);
const flag = z.union([z.number(), z.boolean()]).transform((v) => v === true || v === 1);
const count = z.coerce.number().int().nonnegative();

/** A RunCause, as stored in a run's row and as the API shows it. */
export const RunCauseSchema = z.object({
  trigger: z.enum(['commit', 'model', 'schedule', 'manual']),
  source: z.string(),
  deliveryId: z.string().optional(),
  pusher: z.string().optional(),
  schedule: z.string().optional(),
  detail: z.string().optional(),
});

const json = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.output<T> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
    return z.NEVER;
  });

const RunRowSchema = z.object({
  id: z.string().min(1),
  app: z.string(),
  kind: z.enum(['run', 'release']),
  cause: json(RunCauseSchema),
  branch: opt(z.string()),
  commit_sha: opt(z.string()),
  model_ref: opt(z.string()),
  image: opt(z.string()),
  deploys: flag,
  retry_of: opt(z.string()),
  status: z.enum(RUN_STATUSES),
  attempt: count,
  queued_at: z.string(),
  started_at: opt(z.string()),
  finished_at: opt(z.string()),
  worker: opt(z.string()),
  lease_expires_at: opt(z.string()),
  cancel_requested: flag,
  superseded_by: opt(z.string()),
  inputs_key: opt(z.string()),
  error: opt(z.string()),
  report: opt(json(RunReportSchema)),
});

function parse<T extends z.ZodType>(schema: T, row: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(row)'}: ${i.message}`);
  throw new IntegrityError(`service store: ${what} is not shaped like one: ${issues.join('; ')}`, {
    hint: 'it was not written by this ShipML (or was edited by hand): remove or repair the row',
  });
}

/** `created_at` → `createdAt`, as the type system spells it. */
type Camel<S extends string> = S extends `${infer H}_${infer T}`
  ? `${H}${Capitalize<Camel<T>>}`
  : S;

/**
 * A parsed row's columns as a record's fields, in column order: snake_case becomes camelCase,
 * except the columns `renames` names another field for (`commit_sha` → `commit`).
 */
function fieldsOf<T extends Record<string, unknown>, const R extends { [K in keyof T]?: string }>(
  row: T,
  renames: R,
): { [K in keyof T as K extends keyof R ? NonNullable<R[K]> : Camel<K & string>]: T[K] } {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const field = (renames as Record<string, string | undefined>)[column];
    out[field ?? column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return out as never;
}

/** A runs row as a RunRecord. */
export function runFromRow(row: unknown): RunRecord {
  const id = (row as { id?: unknown } | undefined)?.id;
  const r = parse(RunRowSchema, row, `run ${typeof id === 'string' ? id : '(no id)'}`);
  return fieldsOf(r, { commit_sha: 'commit' });
}

/**
 * The record of a run row this process has just written (the plan's row, not read back): an
 * intake answers with its runs without parsing back what it wrote, which cost as much CPU as
 * the rest of the store's work per delivery. Same fields as runFromRow gives for that row.
 */
export function queuedRecord(row: Omit<RunsTable, 'position'>): RunRecord {
  const u = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return {
    id: row.id,
    app: row.app,
    kind: row.kind as RunRecord['kind'],
    cause: JSON.parse(row.cause) as RunRecord['cause'],
    branch: u(row.branch),
    commit: u(row.commit_sha),
    modelRef: u(row.model_ref),
    image: u(row.image),
    deploys: row.deploys === 1,
    retryOf: u(row.retry_of),
    status: row.status as RunRecord['status'],
    attempt: row.attempt,
    queuedAt: row.queued_at,
    startedAt: u(row.started_at),
    finishedAt: u(row.finished_at),
    worker: u(row.worker),
    leaseExpiresAt: u(row.lease_expires_at),
    cancelRequested: row.cancel_requested === 1,
    supersededBy: u(row.superseded_by),
    inputsKey: u(row.inputs_key),
    error: u(row.error),
    report: row.report === null ? undefined : runFromRow(row).report,
  };
}

/** The columns of a new queued run. */
export function rowOfRequest(
  request: RunRequest,
  id: string,
  now: string,
  attempt = 1,
): Omit<RunsTable, 'position'> {
  return {
    id,
    app: request.app,
    kind: request.kind,
    branch: request.branch ?? null,
    commit_sha: request.commit ?? null,
    model_ref: request.modelRef ?? null,
    image: request.image ?? null,
    deploys: request.deploys ? 1 : 0,
    retry_of: request.retryOf ?? null,
    cause: JSON.stringify(request.cause),
    status: 'queued',
    attempt,
    queued_at: now,
    started_at: null,
    finished_at: null,
    worker: null,
    lease_expires_at: null,
    cancel_requested: 0,
    superseded_by: null,
    inputs_key: null,
    error: null,
    report: null,
    built_image: null,
    log_seq: 0,
  };
}

/** The request a run was made from (for its retry). */
export function requestOf(run: RunRecord): RunRequest {
  const { app, kind, cause, branch, commit, modelRef, image, deploys } = run;
  return { app, kind, cause, branch, commit, modelRef, image, deploys, retryOf: run.id };
}

const LogRowSchema = z.object({
  seq: count,
  at: z.string(),
  stage: z.string(),
  line: z.string(),
});

export function logFromRow(row: unknown, runId: string): LogLine {
  return parse(LogRowSchema, row, `a log line of run ${runId}`);
}

const DeliveryRowSchema = z.object({
  source: z.string(),
  delivery_id: opt(z.string()),
  app: z.string(),
  result: z.enum(['accepted', 'duplicate', 'ignored', 'rejected']),
  detail: z.string(),
  at: z.string(),
});

export function deliveryFromRow(row: unknown): DeliveryRecord {
  return fieldsOf(parse(DeliveryRowSchema, row, 'a delivery'), { delivery_id: 'id' });
}

const TokenRowSchema = z.object({
  id: z.string().min(1),
  hash: z.string().regex(/^[a-f0-9]{64}$/),
  scope: z.enum(['read', 'admin']),
  name: z.string(),
  created_at: z.string(),
  expires_at: opt(z.string()),
  revoked_at: opt(z.string()),
  last_used_at: opt(z.string()),
});

export function tokenFromRow(row: unknown): TokenRecord {
  return fieldsOf(parse(TokenRowSchema, row, 'a token'), {});
}
