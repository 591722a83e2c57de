/**
 * The ServiceStore over Kysely: one class for both back ends. Each call goes through
 * `guard`, which turns driver errors into ExternalServiceErrors naming the store (never its
 * password), retryable when the database was unreachable or busy.
 */
import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { storeError, type StoreDialect } from './dialect.js';
import { GroupCommit } from './group-commit.js';
import * as history from './history.js';
import * as intake from './intake.js';
import { initial } from './migrations/001-initial.js';
import { coalescingIndex } from './migrations/002-coalescing-index.js';
import * as leases from './leases.js';
import * as queue from './queue.js';
import * as records from './records.js';
import type { StoreContext } from './queue.js';
import type { Database } from './tables.js';
import type { Intake, IntakeResult, ServiceStore } from './types.js';

/** Every migration, in order: names sort as they apply. */
function migrations(dialect: StoreDialect): Record<string, Migration> {
  return { '001-initial': initial(dialect.kind), '002-coalescing-index': coalescingIndex };
}

export class KyselyServiceStore implements ServiceStore {
  readonly kind: string;
  private readonly ctx: StoreContext;

  constructor(
    db: Kysely<Database>,
    readonly dialect: StoreDialect,
  ) {
    this.kind = dialect.kind;
    this.ctx = { db, dialect };
  }

  private async guard<T>(what: string, fn: (ctx: StoreContext) => Promise<T>): Promise<T> {
    try {
      return await fn(this.ctx);
    } catch (err) {
      throw storeError(err, this.dialect, what);
    }
  }

  /**
   * Kysely's Migrator serializes concurrent migrators: on PostgreSQL with an advisory lock
   * held for the whole run, on SQLite by the IMMEDIATE transaction around it (sqlite/index.ts).
   */
  migrate(): Promise<void> {
    return this.guard('migrate', async ({ db }) => {
      const migrator = new Migrator({
        db,
        provider: { getMigrations: () => Promise.resolve(migrations(this.dialect)) },
      });
      const { error } = await migrator.migrateToLatest();
      if (error)
        throw error instanceof Error ? error : new Error('migration failed', { cause: error });
    });
  }

  close(): Promise<void> {
    return this.guard('close', ({ db }) => db.destroy());
  }

  ping(): Promise<void> {
    return this.guard('ping', async ({ db }) => {
      await sql`select 1`.execute(db);
    });
  }

  enqueue: ServiceStore['enqueue'] = (request, options) =>
    this.guard('enqueue', (c) => queue.enqueue(c, request, options));
  claim: ServiceStore['claim'] = (options) => this.guard('claim', (c) => queue.claim(c, options));
  renew: ServiceStore['renew'] = (runId, worker, options) =>
    this.guard('renew', (c) => leases.renew(c, runId, worker, options));
  finish: ServiceStore['finish'] = (runId, worker, result) =>
    this.guard('finish', (c) => leases.finish(c, runId, worker, result));
  expireLeases: ServiceStore['expireLeases'] = (now) =>
    this.guard('expire leases', (c) => leases.expireLeases(c, now));
  cancel: ServiceStore['cancel'] = (runId, now) =>
    this.guard('cancel', (c) => leases.cancel(c, runId, now));
  setInputsKey: ServiceStore['setInputsKey'] = (runId, inputsKey) =>
    this.guard('set inputs key', async ({ db }) => {
      await db.updateTable('runs').set({ inputs_key: inputsKey }).where('id', '=', runId).execute();
    });

  getRun: ServiceStore['getRun'] = (id) => this.guard('get run', (c) => history.getRun(c, id));
  listRuns: ServiceStore['listRuns'] = (filter) =>
    this.guard('list runs', (c) => history.listRuns(c, filter));
  queueDepth: ServiceStore['queueDepth'] = () =>
    this.guard('queue depth', (c) => history.queueDepth(c));
  lastSuccessWith: ServiceStore['lastSuccessWith'] = (key) =>
    this.guard('last success', (c) => history.lastSuccessWith(c, key));
  lastSuccessfulBuild: ServiceStore['lastSuccessfulBuild'] = (app, branch) =>
    this.guard('last build', (c) => history.lastSuccessfulBuild(c, app, branch));
  appendLog: ServiceStore['appendLog'] = (runId, lines) =>
    this.guard('append log', (c) => history.appendLog(c, runId, lines));
  readLog: ServiceStore['readLog'] = (runId, afterSeq, limit) =>
    this.guard('read log', (c) => history.readLog(c, runId, afterSeq, limit));

  private readonly receiving = new GroupCommit<Intake, IntakeResult>((batch) =>
    this.guard('receive delivery', (c) => intake.receive(c, batch)),
  );
  receive: ServiceStore['receive'] = (i) => this.receiving.submit(i);
  listDeliveries: ServiceStore['listDeliveries'] = (options) =>
    this.guard('list deliveries', (c) => records.listDeliveries(c, options));
  claimFire: ServiceStore['claimFire'] = (app, schedule, fireAt) =>
    this.guard('claim fire', (c) => records.claimFire(c, app, schedule, fireAt));
  getState: ServiceStore['getState'] = (app, key) =>
    this.guard('get state', (c) => records.getState(c, app, key));
  setState: ServiceStore['setState'] = (app, key, value) =>
    this.guard('set state', (c) => records.setState(c, app, key, value));

  createToken: ServiceStore['createToken'] = (t) =>
    this.guard('create token', (c) => records.createToken(c, t));
  findToken: ServiceStore['findToken'] = (hash) =>
    this.guard('find token', (c) => records.findToken(c, hash));
  touchToken: ServiceStore['touchToken'] = (id, now) =>
    this.guard('touch token', (c) => records.touchToken(c, id, now));
  listTokens: ServiceStore['listTokens'] = () =>
    this.guard('list tokens', (c) => records.listTokens(c));
  revokeToken: ServiceStore['revokeToken'] = (id, now) =>
    this.guard('revoke token', (c) => records.revokeToken(c, id, now));
}
