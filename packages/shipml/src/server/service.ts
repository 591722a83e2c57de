/**
 * `shipml server` (and `shipml worker`) as a library: the store, the apps and their triggers,
 * the embedded worker, the watch scheduler, and the operations the API exposes. One instance
 * per process; nothing global, so a test can run two side by side on one database.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError, NotFoundError } from '../core/errors.js';
import type { Redactor } from '../core/redact.js';
import { openServiceStore, defaultServiceStoreUrl } from './store/registry.js';
import type {
  DeliveryRecord,
  IntakeResult,
  RunRecord,
  RunRequest,
  ServiceStore,
} from './store/types.js';
import type { AppConfig } from './config/schema.js';
import type { LoadedServerConfig } from './config/load.js';
import { openTrigger } from './triggers/registry.js';
import { isWebhook, type TriggerRequest, type WebhookTrigger } from './triggers/types.js';
import { Watches } from './watches.js';
import { Worker } from './worker.js';
import { Workspaces } from './workspace.js';
import { ServiceMetrics } from './metrics.js';
import { scheduleId } from './triggers/schedule/schema.js';

export interface ServiceOptions {
  loaded: LoadedServerConfig;
  env: NodeJS.ProcessEnv;
  redactor: Redactor;
  log: (line: string) => void;
  /** Run the embedded worker (`shipml server`: config's worker.slots; `shipml worker`: always). */
  worker: boolean;
  /** Run the watch triggers (schedules, polling, the model watch): servers yes, workers no. */
  watches: boolean;
  /** Shorter infrastructure-retry backoff (tests). */
  retryDelaysMs?: readonly number[];
}

/** What the store queues for a trigger's request: the app's defaults filled in. */
function runRequest(app: AppConfig, r: TriggerRequest): RunRequest {
  if (r.kind === 'release' && !r.image)
    throw new ConfigError('a release needs the image to deploy');
  return {
    ...r,
    app: app.name,
    branch: r.branch ?? (r.commit ? undefined : app.branches[0]),
    deploys: r.kind === 'release' || app.release === 'on-success',
  };
}

export class Service {
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly apps: ReadonlyMap<string, AppConfig>;
  readonly metrics: ServiceMetrics;
  private readonly hooks = new Map<string, WebhookTrigger>();
  private worker: Worker | undefined;
  private watches: Watches | undefined;
  readonly workspaces: Workspaces;

  private constructor(
    readonly options: ServiceOptions,
    readonly store: ServiceStore,
  ) {
    this.apps = new Map(options.loaded.config.apps.map((a) => [a.name, a]));
    this.workspaces = new Workspaces(options.loaded.dataDir, options.env);
    this.metrics = new ServiceMetrics(store);
  }

  static async open(options: ServiceOptions): Promise<Service> {
    const { config, dataDir, file } = options.loaded;
    options.redactor.add(...options.loaded.secrets);
    const url = config.database === 'sqlite' ? defaultServiceStoreUrl(dataDir) : config.database;
    const store = await openServiceStore(url, { where: `${file}: database` });
    const service = new Service(options, store);
    try {
      await service.start();
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  private async start(): Promise<void> {
    const { options } = this;
    const { config, dataDir } = options.loaded;
    const watches = new Watches({
      store: this.store,
      workspaces: this.workspaces,
      dataDir,
      serverEnv: options.env,
      submit: async (app, requests) => {
        await this.submit(app.name, requests);
      },
      log: (line) => this.log(line),
    });
    for (const app of config.apps) {
      if (app.runner === 'host')
        this.log(
          `warning: ${app.name}: runner host — its prepare, test and evaluate commands run unisolated as this server's user, with its files in reach`,
        );
      const view = { name: app.name, repository: app.repository, branches: app.branches };
      for (const entry of app.triggers) {
        const trigger = await openTrigger(entry, view);
        if (isWebhook(trigger)) this.hooks.set(`${app.name}/${entry.type}`, trigger);
        else if (options.watches) {
          const key = entry.type === 'schedule' ? `schedule:${scheduleId(entry)}` : entry.type;
          watches.add(app, key, trigger);
        }
      }
    }
    this.watches = watches;
    if (options.worker) {
      const stale = await this.workspaces.clean();
      if (stale > 0) this.log(`removed ${stale} worktree(s) a previous process left behind`);
    }
    // A server honours `worker.slots: 0` (it only serves: the schema's promise); a worker
    // process (no watches) exists to work, so it takes at least one run.
    const slots = !options.worker
      ? 0
      : options.watches
        ? config.worker.slots
        : Math.max(1, config.worker.slots);
    if (slots > 0) {
      this.worker = new Worker({
        id: this.workerId,
        store: this.store,
        apps: this.apps,
        workspaces: this.workspaces,
        dataDir,
        serverEnv: options.env,
        redact: (text) => options.redactor.redact(text),
        slots,
        leaseMs: config.worker.leaseSeconds * 1000,
        log: (line) => this.log(line),
        onFinished: (run, outcome, seconds) => this.metrics.finished(run, outcome, seconds),
        retryDelaysMs: options.retryDelaysMs,
      });
      this.worker.start();
    }
  }

  log(line: string): void {
    this.options.log(this.options.redactor.redact(line));
  }

  app(name: string): AppConfig {
    const app = this.apps.get(name);
    if (!app) throw new NotFoundError(`no app ${JSON.stringify(name)} on this server`);
    return app;
  }

  /** The webhook trigger of `type` for `app`, if the app has one. */
  hook(app: string, type: string): WebhookTrigger | undefined {
    return this.hooks.get(`${app}/${type}`);
  }

  /** Queues what triggers asked for: coalesced per app, kind and branch; the worker wakes. */
  async submit(
    appName: string,
    requests: readonly TriggerRequest[],
  ): Promise<Array<{ run: RunRecord; superseded: string[] }>> {
    const app = this.app(appName);
    const queued = [];
    for (const r of requests) {
      const result = await this.store.enqueue(runRequest(app, r), {
        now: new Date().toISOString(),
        coalesce: true,
      });
      this.logQueued(app, r, result);
      queued.push(result);
    }
    this.worker?.notify();
    return queued;
  }

  /**
   * Records a webhook delivery and queues what it asks for, in one store transaction (shared
   * with concurrent deliveries): a duplicate queues nothing.
   */
  async receive(
    delivery: DeliveryRecord,
    requests: readonly TriggerRequest[],
  ): Promise<IntakeResult> {
    const app = this.app(delivery.app);
    const result = await this.store.receive({
      delivery,
      requests: requests.map((r) => runRequest(app, r)),
    });
    this.metrics.delivery(
      app.name,
      delivery.source,
      result.delivery === 'duplicate' ? 'duplicate' : delivery.result,
    );
    result.queued.forEach((q, i) => this.logQueued(app, requests[i]!, q));
    if (result.queued.length > 0) this.worker?.notify();
    return result;
  }

  private logQueued(
    app: AppConfig,
    r: TriggerRequest,
    { run, superseded }: { run: RunRecord; superseded: string[] },
  ): void {
    this.log(
      `${app.name}: queued ${run.kind} ${run.id} (${r.cause.trigger} via ${r.cause.source}${r.commit ? `, commit ${r.commit.slice(0, 12)}` : ''}${r.modelRef ? `, model ${r.modelRef}` : ''})${superseded.length ? `; superseded ${superseded.length}` : ''}`,
    );
  }

  /** Cancels a run: a queued one at once, a running one through its worker (any worker). */
  async cancel(runId: string): Promise<RunRecord> {
    const run = await this.store.cancel(runId, new Date().toISOString());
    if (!run) throw new NotFoundError(`no run ${runId}`);
    this.worker?.abort(runId);
    return run;
  }

  /** Queues a run with the same request as `runId` (its commit, model, image). */
  async rerun(runId: string): Promise<{ run: RunRecord; superseded: string[] }> {
    const old = await this.store.getRun(runId);
    if (!old) throw new NotFoundError(`no run ${runId}`);
    const [queued] = await this.submit(old.app, [
      {
        kind: old.kind,
        cause: { trigger: 'manual', source: 'api', detail: `rerun of ${old.id}` },
        branch: old.branch,
        commit: old.commit ?? old.report?.inputs?.commit?.replace(/-dirty$/, ''),
        modelRef: old.modelRef,
        image: old.image,
      },
    ]);
    return queued!;
  }

  /** The worker's runs in progress (for the API and the dashboard). */
  currentRuns(): string[] {
    return this.worker?.current() ?? [];
  }

  async stop(): Promise<void> {
    await this.watches?.stop();
    await this.worker?.stop();
    await this.store.close();
  }
}
