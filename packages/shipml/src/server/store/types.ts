/**
 * The service's durable state, behind one contract with two back ends (SQLite by default,
 * PostgreSQL to scale out; one code path through Kysely): the run queue with leases, run
 * history and logs, webhook deliveries, schedule fires, trigger state and API tokens.
 *
 * What is never stored: secrets. A run's request names the commit and model it wants; the
 * environment and secrets it gets come from the server's config at claim time. Tokens are
 * stored as sha256 hashes only.
 *
 * Times are ISO 8601 strings in UTC (`new Date().toISOString()`), produced by the caller's
 * clock (`now` arguments) so tests can run two of anything and move time.
 */
import type { z } from 'zod';
import type { Descriptor } from '../../core/registry.js';
import type { RunReport } from '../../pipeline/types.js';

export type RunKind = 'run' | 'release';

/**
 * queued → running → succeeded | failed | cancelled; queued → superseded (a newer request of
 * the same app, kind and branch replaced it) | cancelled; running → interrupted (its worker
 * lost the lease: killed, partitioned). Every status but queued and running is final.
 */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Every RunStatus, in lifecycle order (what the API accepts and the dashboard filters by). */
export const RUN_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'superseded',
  'interrupted',
] as const;

/** The statuses a run ends in: every one but queued and running. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set<RunStatus>(
  RUN_STATUSES.filter((s) => s !== 'queued' && s !== 'running'),
);

/** Why a run ran: recorded with every run, shown by the API and the dashboard. */
export interface RunCause {
  /** The pipeline's trigger vocabulary. */
  trigger: 'commit' | 'model' | 'schedule' | 'manual';
  /** The trigger back end (github, azure, generic, poll, model-watch, schedule) or api/cli. */
  source: string;
  /** The webhook delivery id (X-GitHub-Delivery, the Azure event id, ...). */
  deliveryId?: string | undefined;
  /** Who pushed (a login or name, never an email or token). */
  pusher?: string | undefined;
  /** The schedule's id and cron expression. */
  schedule?: string | undefined;
  /** One line of free text: "model digits latest -> 1.5.0", "rerun of R". */
  detail?: string | undefined;
}

/** What a trigger (or a person, through the API) asks the queue for. */
export interface RunRequest {
  app: string;
  kind: RunKind;
  cause: RunCause;
  /** The branch the commit is on (coalescing is per app, kind and branch). */
  branch?: string | undefined;
  /** The exact commit (40 hex); absent: the branch head when the run starts. */
  commit?: string | undefined;
  /** `name@version` (or `name:channel`); absent: the app's configured channel. */
  modelRef?: string | undefined;
  /** For kind `release`: the image to deploy (a reference with a digest). */
  image?: string | undefined;
  /** The run deploys (a release, or a run that releases on success): serialized per app. */
  deploys: boolean;
  /** The run this one repeats (rerun, or the retry of an interrupted run). */
  retryOf?: string | undefined;
}

export interface RunRecord extends RunRequest {
  /**
   * Unique, and sortable by time to the second (RunStore.newId's shape: time, then 48 random
   * bits). Order within a second is the queue's insertion order, which listRuns follows.
   */
  id: string;
  status: RunStatus;
  /** 1 for a first try; an interrupted run's retry has attempt 2 (and retryOf). */
  attempt: number;
  queuedAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** The worker holding (or that last held) the run. */
  worker: string | undefined;
  leaseExpiresAt: string | undefined;
  /** Set by cancel(): the worker holding the run sees it when it renews its lease. */
  cancelRequested: boolean;
  /**
   * The run that replaced this one (status superseded): always the newest of the burst, the
   * one that will build it (read by following the burst's links: superseded.ts).
   */
  supersededBy: string | undefined;
  /** The skip rule's key (pipeline/runs.ts inputsKey) once the run resolved its inputs. */
  inputsKey: string | undefined;
  /** One line: why it failed, was cancelled or interrupted. */
  error: string | undefined;
  /** The pipeline's report, once the run finished (or as far as it got). */
  report: RunReport | undefined;
}

export interface RunFilter {
  app?: string | undefined;
  status?: RunStatus | undefined;
  kind?: RunKind | undefined;
  branch?: string | undefined;
  /** At most this many (default 50, at most 500). */
  limit?: number | undefined;
  /** Runs queued before this one (the previous page's `next`); an unknown id gives none. */
  before?: string | undefined;
}

export interface LogLine {
  /** 1, 2, 3, ... per run, without gaps: SSE's Last-Event-ID resumes after one. */
  seq: number;
  at: string;
  /** A pipeline stage, or `service` for what the worker says about the run. */
  stage: string;
  /** Already redacted by the caller. */
  line: string;
}

export type DeliveryResult = 'accepted' | 'duplicate' | 'ignored' | 'rejected';

export interface DeliveryRecord {
  /** The trigger back end (github, azure, generic). */
  source: string;
  /** The delivery id; rejected deliveries may have none. */
  id: string | undefined;
  app: string;
  result: DeliveryResult;
  /** Why it was ignored or rejected; the runs it queued. Never a secret or a signature. */
  detail: string;
  at: string;
}

/** A webhook delivery and the runs it asks for (none unless it was accepted). */
export interface Intake {
  delivery: DeliveryRecord;
  requests: readonly RunRequest[];
}

export interface IntakeResult {
  delivery: 'new' | 'duplicate';
  queued: Array<{ run: RunRecord; superseded: string[] }>;
}

export type TokenScope = 'read' | 'admin';

export interface TokenRecord {
  /** Public id (shown in lists, used to revoke). */
  id: string;
  /** sha256 hex of the secret token. */
  hash: string;
  scope: TokenScope;
  /** What it is for ("ci", "alice's laptop"). */
  name: string;
  createdAt: string;
  expiresAt: string | undefined;
  revokedAt: string | undefined;
  lastUsedAt: string | undefined;
}

export interface ClaimOptions {
  worker: string;
  now: string;
  leaseMs: number;
  /** Per-app concurrency (default 1): at most this many running runs of one app. */
  concurrency: (app: string) => number;
  /** Only runs of these apps (the apps this worker's config knows). */
  apps: readonly string[];
}

export type FinishStatus = Extract<RunStatus, 'succeeded' | 'failed' | 'cancelled'>;

export interface ServiceStore {
  /** Which back end (sqlite, postgres): for /readyz and logs. */
  readonly kind: string;
  /** Applies the versioned migrations not yet applied (idempotent; safe from several processes). */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** A cheap round trip (readiness). Throws when the database is unreachable. */
  ping(): Promise<void>;

  // The queue.
  /**
   * Queues a run. With `coalesce`, queued runs of the same app, kind and branch become
   * `superseded` (supersededBy = the new run): 100 pushes in a burst leave one queued run
   * with the newest commit. Running runs are never touched.
   */
  enqueue(
    request: RunRequest,
    options: { now: string; coalesce: boolean },
  ): Promise<{ run: RunRecord; superseded: string[] }>;
  /**
   * Atomically takes the oldest (first queued) run a worker may start: its app has fewer running
   * runs than its concurrency, and if it deploys, no other run of the app that deploys is
   * running (on any worker). Sets running, worker, startedAt, leaseExpiresAt = now + leaseMs.
   * Two workers never claim the same run (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one
   * writer transaction).
   */
  claim(options: ClaimOptions): Promise<RunRecord | undefined>;
  /**
   * Extends the lease of a run this worker holds. `held: false` when it no longer does: the
   * lease expired by `now` (even before expireLeases marked the run interrupted), another
   * worker holds it, or it is final. The worker must stop the run at once.
   */
  renew(
    runId: string,
    worker: string,
    options: { now: string; leaseMs: number },
  ): Promise<{ held: true; cancelRequested: boolean } | { held: false }>;
  /**
   * Ends a run this worker holds; false (and nothing written) when it no longer holds it (as
   * renew decides: an expired lease is lost). The report must match RunReportSchema; its
   * image makes the run a candidate for lastSuccessWith and lastSuccessfulBuild.
   */
  finish(
    runId: string,
    worker: string,
    result: {
      now: string;
      status: FinishStatus;
      error?: string | undefined;
      report?: RunReport | undefined;
      inputsKey?: string | undefined;
    },
  ): Promise<boolean>;
  /**
   * Marks every running run whose lease expired before `now` as interrupted and queues its
   * retry (attempt + 1, retryOf) when its attempt was the first; a second interruption stays
   * interrupted (failed, visibly). No retry either when a newer run of the same app, kind and
   * branch is queued: queued after it, the retry would ship the older commit last. Safe to
   * call from every process concurrently: each expired run is interrupted once.
   */
  expireLeases(now: string): Promise<{ interrupted: RunRecord[]; retried: RunRecord[] }>;
  /**
   * Cancels a queued run at once (status cancelled) or asks the worker of a running one
   * (cancelRequested). Undefined for an unknown id; a final run is returned unchanged.
   */
  cancel(runId: string, now: string): Promise<RunRecord | undefined>;
  /** Records what a running run resolved (the skip rule's key) before it finishes. */
  setInputsKey(runId: string, inputsKey: string): Promise<void>;

  // History.
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Newest first (queue order); `next` is the `before` of the following page, if any. */
  listRuns(filter: RunFilter): Promise<{ runs: RunRecord[]; next: string | undefined }>;
  /** Queued and running runs per app (queue depth). */
  queueDepth(): Promise<Array<{ app: string; queued: number; running: number }>>;
  /**
   * The newest succeeded run of kind `run` with this inputs key and an image (its report's
   * `image`): the skip rule, across all apps and branches.
   */
  lastSuccessWith(inputsKey: string): Promise<RunRecord | undefined>;
  /** The newest succeeded run of kind `run` of the app's branch with an image (nightly release). */
  lastSuccessfulBuild(app: string, branch: string | undefined): Promise<RunRecord | undefined>;
  /**
   * Appends lines to a run's log, numbered after its last one; returns the last seq.
   * Concurrent appends get disjoint, gapless ranges. NotFoundError for an unknown run.
   */
  appendLog(runId: string, lines: ReadonlyArray<Omit<LogLine, 'seq'>>): Promise<number>;
  /** Lines with seq > afterSeq, in order, at most `limit` (default 1000). */
  readLog(runId: string, afterSeq: number, limit?: number): Promise<LogLine[]>;

  // Webhook deliveries.
  /**
   * Records a delivery and queues its requests (when it is new and accepted) in one
   * transaction; concurrent calls share one (group commit). A delivery with an id already
   * recorded for (source, app) as accepted is `duplicate` (and recorded as such) and queues
   * nothing; a unique constraint decides, so of two racing replays exactly one is `new`.
   * Other results (ignored, rejected) and deliveries without an id are recorded and answer
   * `new`. Queued runs coalesce as enqueue's do.
   */
  receive(intake: Intake): Promise<IntakeResult>;
  listDeliveries(options: { app?: string; limit?: number }): Promise<DeliveryRecord[]>;

  // Schedules and trigger state.
  /**
   * Claims one fire of a schedule: true for exactly one caller per (app, schedule, fireAt),
   * whichever process asks first.
   */
  claimFire(app: string, schedule: string, fireAt: string): Promise<boolean>;
  /** Small values a trigger keeps between checks (last seen refs, a channel's ETag). */
  getState(app: string, key: string): Promise<string | undefined>;
  setState(app: string, key: string, value: string): Promise<void>;

  // Tokens.
  createToken(token: TokenRecord): Promise<void>;
  /** The token with this hash (revoked or expired ones too: the caller decides 401). */
  findToken(hash: string): Promise<TokenRecord | undefined>;
  touchToken(id: string, now: string): Promise<void>;
  listTokens(): Promise<TokenRecord[]>;
  /** False for an unknown id; revoking twice keeps the first time. */
  revokeToken(id: string, now: string): Promise<boolean>;
}

/**
 * A back end of the service store (sqlite, postgres), as the registry lists it. `open` loads
 * the driver lazily, so importing the registry loads neither libsql nor pg.
 */
export interface ServiceStoreDescriptor<S extends z.ZodType = z.ZodType> extends Descriptor {
  /** `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, for help and errors. */
  readonly urlForm: string;
  readonly optionsSchema: S;
  /** Whether a store URL names this back end. */
  matches(url: string): boolean;
  /** Opens the store a URL names (not yet migrated: call migrate()). */
  open(url: string, options: z.output<S>): Promise<ServiceStore>;
}
