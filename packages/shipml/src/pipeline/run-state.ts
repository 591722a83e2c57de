/**
 * One run in progress: its stages, its report, and how it ends (the report is written
 * whatever happens); the options every pipeline takes.
 */

import { dirname } from 'node:path';
import type { ShipmlConfig } from '../config/schema.js';
import { CancelledError, ConfigError, ShipmlError } from '../core/errors.js';
import { appName } from '../deploy/spec.js';
import { RolloutError, type DeployTarget } from '../deploy/types.js';
import type { ModelRepository } from '../model-store/repository.js';
import type { RegistryAccess } from '../oci/locations.js';
import type { RunnerLimits } from '../runners/limits.js';
import { RunStore, type RunHistory } from './runs.js';
import {
  STAGES,
  type RunEvent,
  type RunReport,
  type StageName,
  type StageReport,
  type Trigger,
} from './types.js';

export interface PipelineOptions {
  config: ShipmlConfig;
  /** The shipml.yaml in use: paths are relative to it, its bytes are an input. */
  configFile: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Registry access (credentials, CA) for pushing and reading images. */
  registry: RegistryAccess;
  cacheDir: string;
  runs: RunHistory;
  /** The run's id (the server's queue record); default a new one. */
  runId?: string | undefined;
  /** Opens the deploy target (lazily: a build-only run without a champion rule never needs it). */
  openTarget: () => Promise<DeployTarget>;
  trigger: Trigger;
  reason?: string | undefined;
  /**
   * Where the app's commands run, decided by the caller over shipml.yaml's runner.kind
   * (`--runner`; the server: its app config, never the repository's).
   */
  runner?:
    | {
        kind: string;
        where: string;
        /** Labels for what the runner creates (the server: the run's id). */
        labels?: Record<string, string> | undefined;
        /** The server's caps on what the repository's `runner:` may ask for. */
        limits?: RunnerLimits | undefined;
      }
    | undefined;
  onEvent?: ((event: RunEvent) => void) | undefined;
}

export interface BuildRunOptions extends PipelineOptions {
  repo: ModelRepository | undefined;
  /** Stop after this stage (`push`: the build pipeline; release later). */
  until?: StageName | undefined;
  /** name@version or name:channel instead of model.name:model.channel. */
  modelRef?: string | undefined;
  /** Rebuild even when the inputs equal the last successful run's. */
  force?: boolean | undefined;
}

/** Thrown inside a stage to end the run with a clear reason (the stage is marked failed). */
export class StageFailure extends Error {}

/** Runs stages in order and keeps the report; the report is written whatever happens. */
export class Run {
  readonly report: RunReport;
  private target: DeployTarget | undefined;

  constructor(
    readonly options: PipelineOptions,
    kind: RunReport['kind'],
  ) {
    this.report = {
      id: options.runId ?? RunStore.newId(),
      kind,
      trigger: options.trigger,
      reason: options.reason,
      startedAt: new Date().toISOString(),
      finishedAt: undefined,
      outcome: 'running',
      failure: undefined,
      inputs: undefined,
      reusedFrom: undefined,
      image: undefined,
      layers: undefined,
      metrics: undefined,
      stages: [],
      live: undefined,
      url: undefined,
    };
  }

  async deployTarget(): Promise<DeployTarget> {
    return (this.target ??= await this.options.openTarget());
  }

  log(stage: StageName, line: string): void {
    this.options.onEvent?.({ type: 'stage-log', stage, line });
  }

  /** Runs one stage; its body returns the one-line detail. */
  async stage(name: StageName, body: () => Promise<string>): Promise<void> {
    if (this.options.signal.aborted) throw new CancelledError('the run was cancelled');
    this.options.onEvent?.({ type: 'stage-start', stage: name });
    const started = performance.now();
    const end = (status: StageReport['status'], detail: string) => {
      const report: StageReport = {
        name,
        status,
        seconds: +((performance.now() - started) / 1000).toFixed(2),
        detail,
      };
      this.report.stages.push(report);
      this.options.onEvent?.({ type: 'stage-end', stage: name, report });
    };
    try {
      end('succeeded', await body());
    } catch (err) {
      const message = (err as Error).message;
      end('failed', message);
      this.report.failure = { stage: name, message };
      throw err;
    }
  }

  skip(name: StageName, why: string): void {
    const report: StageReport = { name, status: 'skipped', seconds: 0, detail: why };
    this.report.stages.push(report);
    this.options.onEvent?.({ type: 'stage-end', stage: name, report });
  }

  /** The end of every run: outcome, what serves, the report on disk. */
  async finish(err: unknown): Promise<RunReport> {
    const r = this.report;
    r.outcome =
      err === undefined
        ? 'succeeded'
        : err instanceof CancelledError ||
            (err instanceof RolloutError && err.failure === 'cancelled') ||
            this.options.signal.aborted
          ? 'cancelled'
          : 'failed';
    if (err !== undefined && !r.failure)
      r.failure = { stage: 'resolve', message: (err as Error).message };
    if (this.target && r.live === undefined) {
      const app = appName(
        this.options.config,
        this.options.configFile,
        dirname(this.options.configFile),
      );
      const status = await this.target.status(app).catch(() => undefined);
      r.live = status?.live;
      r.url = status?.url;
    }
    r.finishedAt = new Date().toISOString();
    const started = performance.now();
    this.options.onEvent?.({ type: 'stage-start', stage: 'record' });
    const file = await this.options.runs.save(r);
    const report: StageReport = {
      name: 'record',
      status: 'succeeded',
      seconds: +((performance.now() - started) / 1000).toFixed(2),
      detail: file,
    };
    r.stages.push(report);
    await this.options.runs.save(r);
    this.options.onEvent?.({ type: 'stage-end', stage: 'record', report });
    return r;
  }
}

/** True when a run stopping after `until` includes `stage`. */
export function reached(until: StageName | undefined, stage: StageName): boolean {
  return !until || STAGES.indexOf(stage) <= STAGES.indexOf(until);
}

/** Errors leave the pipeline with the run's report attached (the CLI prints both). */
export class RunFailedError extends ShipmlError {
  readonly code: string;
  constructor(
    cause: unknown,
    readonly report: RunReport,
  ) {
    const failure = report.failure;
    super(
      failure
        ? `run ${report.id} failed at ${failure.stage}: ${failure.message}`
        : (cause as Error).message,
      {
        cause,
        hint: (cause as ShipmlError).hint,
      },
    );
    this.code =
      report.outcome === 'cancelled'
        ? 'CANCELLED'
        : cause instanceof ConfigError
          ? 'CONFIG'
          : 'RUN_FAILED';
  }
}

export function withReport(err: unknown, report: RunReport): RunFailedError {
  return new RunFailedError(err, report);
}
