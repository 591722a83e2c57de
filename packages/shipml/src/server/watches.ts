/**
 * The server's scheduler for watch triggers (git polling, the model-channel watch, cron
 * schedules): one timer chain per trigger, checks of one trigger never overlapping, errors
 * logged and the chain continuing, everything stopped with the server. Each check sees the
 * world through a WatchContext built here from the server's own parts.
 */
import { defaultCacheDir } from '../model-store/cache.js';
import { appPaths, appRepository, headConfig, runEnvironment } from './app-runtime.js';
import { targetOpenerOf } from '../pipeline/assemble.js';
import type { AppConfig } from './config/schema.js';
import type { ServiceStore } from './store/types.js';
import { lsRemote } from './triggers/poll/ls-remote.js';
import type { TriggerRequest, WatchContext, WatchTrigger } from './triggers/types.js';
import type { Workspaces } from './workspace.js';

/** Timers cannot wait longer than ~24.8 days; a far fire is approached in steps. */
const MAX_WAIT_MS = 2 ** 31 - 1;

export interface WatchDeps {
  store: ServiceStore;
  workspaces: Workspaces;
  dataDir: string;
  serverEnv: NodeJS.ProcessEnv;
  /** Queues what a check asked for (the server's one enqueue path). */
  submit: (app: AppConfig, requests: TriggerRequest[]) => Promise<void>;
  log: (line: string) => void;
  now?: () => Date;
}

export class Watches {
  private readonly controller = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly checks = new Set<Promise<void>>();

  constructor(private readonly deps: WatchDeps) {}

  /** Starts checking `trigger` of `app` (its `key` names its state: `poll`, `schedule:nightly`). */
  add(app: AppConfig, key: string, trigger: WatchTrigger): void {
    const ctx = this.context(app, key);
    const schedule = (after: Date): void => {
      const at = trigger.next(after);
      if (!at || this.controller.signal.aborted) return;
      const wait = (): void => {
        const ms = at.getTime() - this.now().getTime();
        const timer = setTimeout(
          () => {
            this.timers.delete(timer);
            if (ms > MAX_WAIT_MS) return wait();
            const check = this.check(app, key, trigger, ctx, at).finally(() => {
              this.checks.delete(check);
              schedule(at);
            });
            this.checks.add(check);
          },
          Math.max(0, Math.min(ms, MAX_WAIT_MS)),
        );
        this.timers.add(timer);
      };
      wait();
    };
    schedule(this.now());
  }

  async stop(): Promise<void> {
    this.controller.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.checks]);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async check(
    app: AppConfig,
    key: string,
    trigger: WatchTrigger,
    ctx: WatchContext,
    at: Date,
  ): Promise<void> {
    try {
      const requests = await trigger.check(ctx, at);
      if (requests.length > 0) await this.deps.submit(app, requests);
    } catch (err) {
      if (!this.controller.signal.aborted)
        this.deps.log(`${app.name}: ${key} trigger: ${(err as Error).message}`);
    }
  }

  private context(app: AppConfig, key: string): WatchContext {
    const { store, workspaces, dataDir, serverEnv } = this.deps;
    const signal = this.controller.signal;
    const paths = appPaths(dataDir, app.name);
    const env = runEnvironment(app, serverEnv, paths);
    const head = async () => (await headConfig(workspaces, app, dataDir, serverEnv, signal)).loaded;
    return {
      app: { name: app.name, repository: app.repository, branches: app.branches },
      signal,
      state: {
        get: (k) => store.getState(app.name, `${key}:${k}`),
        set: (k, v) => store.setState(app.name, `${key}:${k}`, v),
      },
      claimFire: (schedule, fireAt) => store.claimFire(app.name, schedule, fireAt.toISOString()),
      lsRemote: () => lsRemote(app.repository, env, signal),
      readModelChannel: async (etag) => {
        const loaded = await head();
        const model = loaded.config.model;
        const repo = await appRepository(loaded, env, defaultCacheDir(env));
        if (!repo || !model?.name) return { status: 'absent' };
        const read = await repo.readChannelIfChanged(model.name, model.channel, etag, signal);
        if (read.status !== 'found') return { ...read, model: model.name, channel: model.channel };
        return {
          status: 'found',
          version: read.pointer.version,
          etag: read.etag,
          model: model.name,
        };
      },
      liveCommit: async () => {
        const loaded = await head();
        const use = { config: loaded.config, configFile: loaded.file, env };
        const status = await (await targetOpenerOf(use)()).status(loaded.config.deploy!.app!);
        const commit = status.live?.provenance.commit;
        // A dirty build cannot be rebuilt: the branch head is the best there is then.
        return commit && /^[0-9a-f]{40}$/.test(commit) ? { commit } : undefined;
      },
      lastSuccessfulImage: async (branch) =>
        (await store.lastSuccessfulBuild(app.name, branch))?.report?.image?.reference,
      log: (line) => this.deps.log(`${app.name}: ${key}: ${line}`),
    };
  }
}
