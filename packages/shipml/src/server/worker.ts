/**
 * A worker: claims runs from the queue, holds their leases while they run, and records how
 * they ended. `shipml server` embeds one; `shipml worker` processes on other machines run the
 * same loop against a shared PostgreSQL.
 *
 * Leases: a claim holds for `leaseMs` and is renewed every third of that. A worker that
 * cannot renew (it was partitioned, or paused past its lease) stops the run at once — another
 * worker may already hold it — and writes nothing more about it. A worker killed outright
 * stops renewing: any process's next `expireLeases` marks its runs interrupted and queues each
 * one retry; a deploy interrupted that way is reconciled (the target's status read and said)
 * before the app's next deploy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from './config/schema.js';
import { executeRun, type Outcome } from './execute.js';
import { RunLog } from './run-log.js';
import type { RunRecord, ServiceStore } from './store/types.js';
import type { Workspaces } from './workspace.js';

const INTERRUPTED_DEPLOY = 'interrupted-deploy';

export interface WorkerOptions {
  /** Unique per process: it owns leases. */
  id: string;
  store: ServiceStore;
  apps: ReadonlyMap<string, AppConfig>;
  workspaces: Workspaces;
  dataDir: string;
  serverEnv: NodeJS.ProcessEnv;
  redact: (text: string) => string;
  /** Runs at once. */
  slots: number;
  leaseMs: number;
  /** How often an idle worker looks at the queue (a local enqueue wakes it at once). */
  pollMs?: number;
  log: (line: string) => void;
  /** Called when a run ends (metrics). */
  onFinished?: (run: RunRecord, outcome: Outcome, seconds: number) => void;
  retryDelaysMs?: readonly number[];
  now?: () => Date;
}

export class Worker {
  private readonly running = new Map<string, Promise<void>>();
  private readonly controllers = new Map<string, AbortController>();
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {}

  /** Starts claiming (idempotent). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Something was queued: look now rather than at the next poll. */
  notify(): void {
    this.wake?.();
  }

  /** The runs this worker holds now. */
  current(): string[] {
    return [...this.running.keys()];
  }

  /** Asks the worker of a run held here to stop it (the store's cancel flag does the same across workers). */
  abort(runId: string): boolean {
    const controller = this.controllers.get(runId);
    controller?.abort();
    return controller !== undefined;
  }

  /**
   * Stops claiming and cancels the runs in progress (each rolls a started deploy back and is
   * recorded as cancelled), then waits for them.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    for (const c of this.controllers.values()) c.abort();
    await this.loop;
    await Promise.allSettled(this.running.values());
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  private async run(): Promise<void> {
    const { store, leaseMs } = this.options;
    const pollMs = this.options.pollMs ?? 500;
    while (!this.stopping) {
      try {
        await this.expire();
        if (this.running.size < this.options.slots) {
          const run = await store.claim({
            worker: this.options.id,
            now: this.now(),
            leaseMs,
            concurrency: (app) => this.options.apps.get(app)?.concurrency ?? 1,
            apps: [...this.options.apps.keys()],
          });
          if (run) {
            this.running.set(
              run.id,
              this.handle(run).finally(() => {
                this.running.delete(run.id);
                this.wake?.();
              }),
            );
            continue;
          }
        }
      } catch (err) {
        this.options.log(
          `worker ${this.options.id}: ${this.options.redact((err as Error).message)}`,
        );
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(pollMs).then(resolve);
      });
      this.wake = undefined;
    }
  }

  /** Leases that ran out (a dead worker's runs): interrupted, retried once. */
  private async expire(): Promise<void> {
    const { interrupted, retried } = await this.options.store.expireLeases(this.now());
    for (const run of interrupted) {
      this.options.log(
        `run ${run.id} of ${run.app} was interrupted (worker ${run.worker ?? '?'} stopped renewing its lease)`,
      );
      if (run.deploys) await this.options.store.setState(run.app, INTERRUPTED_DEPLOY, run.id);
    }
    for (const run of retried)
      this.options.log(`run ${run.id} of ${run.app} queued again (retry of ${run.retryOf})`);
    await this.sweep(interrupted.length > 0);
  }

  private swept = false;

  /**
   * Removes command containers of runs that are over (a killed process's, whose command ran
   * on): once at start, and again whenever leases expired. Only when an app uses them.
   */
  private async sweep(again: boolean): Promise<void> {
    if (this.swept && !again) return;
    this.swept = true;
    if (![...this.options.apps.values()].some((a) => a.runner === 'container')) return;
    try {
      const { sweepCommandContainers } = await import('../runners/container/sweep.js');
      const removed = await sweepCommandContainers(
        this.options.serverEnv,
        // A run this store does not know is another server's (one engine, several
        // services): not ours to end.
        async (id) => {
          const run = await this.options.store.getRun(id);
          return run === undefined || run.status === 'running';
        },
      );
      for (const id of removed)
        this.options.log(`removed the command container of run ${id}: its run is over`);
    } catch (err) {
      this.options.log(
        `worker ${this.options.id}: cannot look for leftover command containers: ${this.options.redact((err as Error).message)}`,
      );
    }
  }

  private async handle(run: RunRecord): Promise<void> {
    const { store, id: worker, leaseMs } = this.options;
    const app = this.options.apps.get(run.app)!;
    const controller = new AbortController();
    this.controllers.set(run.id, controller);
    const log = new RunLog(store, run.id, this.options.redact);
    let lost = false;
    const renewal = setInterval(
      () => {
        store.renew(run.id, worker, { now: this.now(), leaseMs }).then(
          (lease) => {
            if (!lease.held) {
              lost = true;
              controller.abort();
            } else if (lease.cancelRequested && !controller.signal.aborted) {
              log.service('cancel requested: stopping the run');
              controller.abort();
            }
          },
          // A failed renewal is retried at the next tick; the lease outlives two misses.
          () => undefined,
        );
      },
      Math.max(250, Math.floor(leaseMs / 3)),
    );
    const started = performance.now();
    try {
      log.service(
        `claimed by worker ${worker}${run.attempt > 1 ? ` (attempt ${run.attempt}, retry of ${run.retryOf})` : ''}`,
      );
      const interrupted = run.deploys
        ? await store.getState(run.app, INTERRUPTED_DEPLOY)
        : undefined;
      const outcome = await executeRun(run, app, {
        store,
        workspaces: this.options.workspaces,
        dataDir: this.options.dataDir,
        serverEnv: this.options.serverEnv,
        redact: this.options.redact,
        log,
        signal: controller.signal,
        retryDelaysMs: this.options.retryDelaysMs,
        interruptedDeploy: interrupted
          ? {
              runId: interrupted,
              reconciled: () => store.setState(run.app, INTERRUPTED_DEPLOY, ''),
            }
          : undefined,
      });
      clearInterval(renewal);
      if (lost) {
        log.service(`lease lost: worker ${worker} stopped the run and records nothing more`);
        return;
      }
      log.service(`${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
      await log.close();
      const written = await store.finish(run.id, worker, {
        now: this.now(),
        status: outcome.status,
        error: outcome.error === undefined ? undefined : this.options.redact(outcome.error),
        report:
          outcome.report &&
          (JSON.parse(
            this.options.redact(JSON.stringify(outcome.report)),
          ) as typeof outcome.report),
        inputsKey: outcome.inputsKey,
      });
      if (written) this.options.onFinished?.(run, outcome, (performance.now() - started) / 1000);
    } catch (err) {
      this.options.log(`run ${run.id}: ${this.options.redact((err as Error).message)}`);
    } finally {
      clearInterval(renewal);
      this.controllers.delete(run.id);
      await log.close();
    }
  }
}
