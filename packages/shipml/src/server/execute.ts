/**
 * One claimed run, from a clean checkout of its commit to its report: fetch the mirror,
 * resolve the commit (the branch head when the request named none), check it out, load the
 * app's shipml.yaml from it, and run the pipeline — the build (`until: push` unless the app
 * releases on success) or a release of an image already built.
 *
 * Infrastructure failures (git host, store, registry or engine unreachable: a retryable
 * ExternalServiceError before anything deployed) are retried with backoff; test, gate and
 * verify failures are the run's answer and never retried.
 */
import { RUN_LABEL } from '../runners/labels.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../core/errors.js';
import { isRetryable } from '../core/retry.js';
import { defaultCacheDir } from '../model-store/cache.js';
import { registryAccessOf, targetOpenerOf } from '../pipeline/assemble.js';
import { releasePipeline, RunFailedError, runPipeline } from '../pipeline/run.js';
import { inputsKey } from '../pipeline/runs.js';
import type { RunReport, StageName } from '../pipeline/types.js';
import { appConfigFrom, appPaths, appRepository, runEnvironment } from './app-runtime.js';
import type { ShipmlConfig } from '../config/schema.js';
import type { DeployTarget } from '../deploy/types.js';
import type { AppConfig } from './config/schema.js';
import { StoreHistory } from './history.js';
import type { RunLog } from './run-log.js';
import type { FinishStatus, RunRecord, ServiceStore } from './store/types.js';
import type { Workspaces } from './workspace.js';

/** Stages whose infrastructure failures are worth another try (nothing deployed yet). */
const RETRYABLE_STAGES: ReadonlySet<StageName> = new Set([
  'resolve',
  'fetch-model',
  'build',
  'push',
  'sign',
]);

export interface ExecuteContext {
  store: ServiceStore;
  workspaces: Workspaces;
  dataDir: string;
  serverEnv: NodeJS.ProcessEnv;
  redact: (text: string) => string;
  log: RunLog;
  signal: AbortSignal;
  /**
   * The id of a deploying run of this app that was interrupted (its worker died mid-deploy):
   * before this run deploys, the target's status is read and said, and `reconciled` called.
   */
  interruptedDeploy?: { runId: string; reconciled: () => Promise<void> } | undefined;
  /** Backoff between infrastructure retries (tests shorten it). */
  retryDelaysMs?: readonly number[];
}

export interface Outcome {
  status: FinishStatus;
  error: string | undefined;
  report: RunReport | undefined;
  inputsKey: string | undefined;
}

export async function executeRun(
  run: RunRecord,
  app: AppConfig,
  ctx: ExecuteContext,
): Promise<Outcome> {
  const delays = ctx.retryDelaysMs ?? [2_000, 8_000, 30_000];
  for (let attempt = 0; ; attempt++) {
    try {
      return await executeOnce(run, app, ctx);
    } catch (err) {
      const failedAt = err instanceof RunFailedError ? err.report.failure?.stage : 'resolve';
      const retry =
        attempt < delays.length &&
        !ctx.signal.aborted &&
        isRetryable(err instanceof RunFailedError ? err.cause : err) &&
        failedAt !== undefined &&
        RETRYABLE_STAGES.has(failedAt);
      if (!retry) return failed(err, ctx.signal.aborted);
      ctx.log.service(
        `infrastructure failure (${ctx.redact((err as Error).message)}); trying again in ${delays[attempt]! / 1000} s`,
      );
      await sleep(delays[attempt], undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  }
}

async function executeOnce(run: RunRecord, app: AppConfig, ctx: ExecuteContext): Promise<Outcome> {
  const paths = appPaths(ctx.dataDir, app.name);
  const env = runEnvironment(app, ctx.serverEnv, paths);
  await ctx.workspaces.fetch(app.repository, ctx.signal, env);
  const branch = run.branch ?? app.branches[0]!;
  const commit = run.commit ?? (await ctx.workspaces.head(app.repository, branch, ctx.signal));
  ctx.log.service(`checking out ${commit.slice(0, 12)}${run.commit ? '' : ` (head of ${branch})`}`);
  const checkout = await ctx.workspaces.checkout(app.repository, commit, run.id, ctx.signal);
  try {
    const configFile = join(checkout.dir, app.config);
    const text = await readFile(configFile, 'utf8').catch(() => {
      throw new ConfigError(`${app.config} is not in commit ${commit.slice(0, 12)}`, {
        hint: `set apps[].config in the server config to the path of the app's shipml.yaml`,
      });
    });
    const loaded = appConfigFrom(text, configFile, app, env);
    const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(env);
    const use = { config: loaded.config, configFile, env };
    const base = {
      ...use,
      runId: run.id,
      signal: ctx.signal,
      registry: registryAccessOf(use, ctx.signal),
      cacheDir,
      runs: new StoreHistory(ctx.store, paths.runsDir, ctx.redact),
      trigger: run.cause.trigger,
      reason: run.cause.detail,
      runner: {
        kind: app.runner,
        where: `apps[${app.name}].runner`,
        labels: { [RUN_LABEL]: run.id },
        // What the repository's runner: may ask for at most (runners/limits.ts).
        limits: app.runnerLimits,
      },
      onEvent: (e: Parameters<RunLog['event']>[0]) => ctx.log.event(e),
    };
    if (run.deploys && ctx.interruptedDeploy)
      await reconcile(ctx, targetOpenerOf(use), loaded.config);
    const report =
      run.kind === 'release'
        ? await releasePipeline({
            ...base,
            image: run.image!,
            openTarget: targetOpenerOf(use, { image: run.image }),
          })
        : await runPipeline({
            ...base,
            openTarget: targetOpenerOf(use),
            repo: await appRepository(loaded, env, cacheDir),
            modelRef: run.modelRef,
            until: run.deploys ? undefined : 'sign',
          });
    return {
      status: 'succeeded',
      error: undefined,
      report,
      inputsKey: report.inputs ? inputsKey(report.inputs) : undefined,
    };
  } finally {
    await checkout.remove().catch(() => undefined);
  }
}

/** Says what serves after an interrupted deploy (the target rolled back, or finished it). */
async function reconcile(
  ctx: ExecuteContext,
  open: () => Promise<DeployTarget>,
  config: ShipmlConfig,
): Promise<void> {
  const interrupted = ctx.interruptedDeploy!;
  const status = await (await open()).status(config.deploy!.app!);
  const live = status.live;
  const p = live?.provenance;
  ctx.log.service(
    `run ${interrupted.runId} was interrupted while deploying; the target says: ${
      live
        ? `revision ${live.number} is live (${live.image}${p?.commit ? `, commit ${p.commit.slice(0, 12)}` : ''}${p?.model ? `, model ${p.model.name}@${p.model.version}` : ''})`
        : 'nothing is live'
    }${status.rollout ? `; rollout: ${status.rollout}` : ''}`,
  );
  await interrupted.reconciled();
}

function failed(err: unknown, aborted: boolean): Outcome {
  const report = err instanceof RunFailedError ? err.report : undefined;
  const status: FinishStatus = report?.outcome === 'cancelled' || aborted ? 'cancelled' : 'failed';
  return {
    status,
    error: (err as Error).message,
    report,
    inputsKey: report?.inputs ? inputsKey(report.inputs) : undefined,
  };
}
