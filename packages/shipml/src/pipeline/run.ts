/**
 * The pipeline: resolve inputs → fetch model (verified) → test → evaluate → gate → build →
 * push → deploy → verify → record. `runPipeline` is the build pipeline (and, without
 * `until`, the release too); `releasePipeline` deploys an image already built.
 *
 * A failing stage stops the run; nothing after it runs, so a failed gate never pushes and a
 * failed push never deploys. A failed deploy or verify leaves the previous release serving
 * (the target rolls back). Every run, whatever happens, leaves a report.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildProject, modelInput } from '../build/project.js';
import { defaultTags } from '../build/provenance.js';
import { gitInfo } from '../build/git.js';
import type { ShipmlConfig } from '../config/schema.js';
import { CancelledError, ConfigError, ShipmlError } from '../core/errors.js';
import { provenanceOf, releaseOf } from '../deploy/release.js';
import { appName, deployConfig, deploySpec } from '../deploy/spec.js';
import { RolloutError, type DeployTarget, type Release } from '../deploy/types.js';
import type { Manifest } from '../model-store/manifest.js';
import type { ModelRepository } from '../model-store/repository.js';
import { parseLocation, writeImage, type TargetOptions } from '../oci/targets.js';
import { runCommand } from './command.js';
import { evaluateGate, parseMetrics, type Metrics } from './gate.js';
import { RunStore } from './runs.js';
import {
  STAGES,
  type RunEvent,
  type RunInputs,
  type RunReport,
  type StageName,
  type StageReport,
  type Trigger,
} from './types.js';
import { verifyRelease } from './verify.js';

const git = promisify(execFile);

export interface PipelineOptions {
  config: ShipmlConfig;
  /** The shipml.yaml in use: paths are relative to it, its bytes are an input. */
  configFile: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Registry access (credentials, CA) for pushing and reading images. */
  registry: TargetOptions;
  cacheDir: string;
  runs: RunStore;
  /** Opens the deploy target (lazily: a build-only run without a champion rule never needs it). */
  openTarget: () => Promise<DeployTarget>;
  trigger: Trigger;
  reason?: string | undefined;
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
class StageFailure extends Error {}

/** Runs stages in order and keeps the report; the report is written whatever happens. */
class Run {
  readonly report: RunReport;
  private target: DeployTarget | undefined;

  constructor(
    readonly options: PipelineOptions,
    kind: RunReport['kind'],
  ) {
    this.report = {
      id: RunStore.newId(),
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

/** `shipml run`: the build pipeline, then (unless `until`) the release. */
export async function runPipeline(options: BuildRunOptions): Promise<RunReport> {
  const run = new Run(options, 'run');
  const { config, configFile } = options;
  const root = dirname(configFile);
  const appDir = resolve(root, config.build?.context ?? '.');
  let error: unknown;
  let built: Release | undefined;
  try {
    let manifest: Manifest | undefined;
    await run.stage('resolve', async () => {
      manifest = await resolveModel(options);
      run.report.inputs = await resolveInputs(appDir, configFile, manifest);
      return describeInputs(run.report.inputs);
    });
    const inputs = run.report.inputs!;
    const previous = options.force ? undefined : await options.runs.lastSuccessWith(inputs);
    if (previous?.image) {
      run.report.reusedFrom = previous.id;
      run.report.image = previous.image;
      run.report.layers = previous.layers;
      run.report.metrics = previous.metrics;
      const why = `inputs equal run ${previous.id}'s: reusing ${previous.image.reference}`;
      for (const stage of ['fetch-model', 'test', 'evaluate', 'gate', 'build', 'push'] as const)
        run.skip(stage, why);
    } else {
      built = await buildStages(run, options, appDir, manifest);
    }
    if (reached(options.until, 'deploy')) await releaseStages(run, options, built);
  } catch (err) {
    error = err;
  }
  const report = await run.finish(error);
  if (error !== undefined) throw withReport(error, report);
  return report;
}

/** `shipml release`: deploy (and verify) an image already built and pushed. */
export async function releasePipeline(
  options: PipelineOptions & { image: string },
): Promise<RunReport> {
  const run = new Run(options, 'release');
  let error: unknown;
  try {
    let release: Release | undefined;
    await run.stage('resolve', async () => {
      release = await releaseOf(options.image, options.registry);
      run.report.image = {
        reference: release.image,
        digest: release.image.slice(release.image.indexOf('@') + 1),
      };
      const p = release.provenance;
      run.report.inputs = {
        commit: p.commit,
        tree: undefined,
        dirty: p.commit?.endsWith('-dirty') ?? false,
        model: p.model,
        configHash: sha256(await readFile(options.configFile)),
      };
      return `${options.image} is ${release.image}${p.model ? `, model ${p.model.name}@${p.model.version}` : ''}`;
    });
    await releaseStages(run, options, release);
  } catch (err) {
    error = err;
  }
  const report = await run.finish(error);
  if (error !== undefined) throw withReport(error, report);
  return report;
}

async function buildStages(
  run: Run,
  options: BuildRunOptions,
  appDir: string,
  manifest: Manifest | undefined,
): Promise<Release | undefined> {
  const { config, signal } = options;
  const runDir = join(options.runs.dir, run.report.id);
  let modelDir: string | undefined;
  if (manifest && options.repo) {
    const repo = options.repo;
    await run.stage('fetch-model', async () => {
      modelDir = await modelInput(
        repo,
        manifest,
        options.cacheDir,
        config.build?.modelPath,
        signal,
      ).dir();
      const mib = manifest.size / (1024 * 1024);
      return `${manifest.name}@${manifest.version} (${manifest.files.length} files, ${mib.toFixed(1)} MiB), every file's sha256 verified`;
    });
  } else run.skip('fetch-model', 'no model.name in shipml.yaml');
  if (!reached(options.until, 'test')) return undefined;

  const childEnv = (extra: Record<string, string>, model = modelDir): NodeJS.ProcessEnv => ({
    ...options.env,
    ...extra,
    CI: 'true',
    ...(model ? { MODEL_PATH: model } : {}),
  });
  if (config.test) {
    const test = config.test;
    await run.stage('test', async () => {
      await mkdir(runDir, { recursive: true });
      const result = await runCommand(test.command, {
        cwd: appDir,
        env: childEnv(test.env),
        timeoutSeconds: test.timeoutSeconds,
        signal,
        onLine: (line) => run.log('test', line),
        logFile: join(runDir, 'test.log'),
      });
      if (result.cancelled) throw new CancelledError('the run was cancelled during the tests');
      if (result.timedOut)
        throw new StageFailure(
          `\`${test.command}\` did not finish within ${test.timeoutSeconds} s`,
        );
      if (result.code !== 0)
        throw new StageFailure(
          `\`${test.command}\` failed (exit ${result.code ?? result.signal}): ${lastMeaningful(result.tail)}`,
        );
      return `\`${test.command}\` passed (log: ${join(runDir, 'test.log')})`;
    });
  } else run.skip('test', 'no test.command in shipml.yaml');

  if (!reached(options.until, 'evaluate')) return undefined;
  const evaluate = async (model: string | undefined, stage: StageName): Promise<Metrics> => {
    const e = config.evaluate!;
    const result = await runCommand(e.command, {
      cwd: appDir,
      env: childEnv(e.env, model),
      timeoutSeconds: e.timeoutSeconds,
      signal,
      onLine: (line) => run.log(stage, line),
    });
    if (result.cancelled) throw new CancelledError('the run was cancelled during the evaluation');
    if (result.code !== 0 || result.timedOut)
      throw new StageFailure(
        `\`${e.command}\` failed (${result.timedOut ? 'timed out' : `exit ${result.code ?? result.signal}`}): ${lastMeaningful(result.tail)}`,
      );
    const metrics = parseMetrics(result.stdout);
    if (!metrics)
      throw new StageFailure(`\`${e.command}\` printed no JSON object of metrics on stdout`);
    return metrics;
  };
  if (config.evaluate) {
    await run.stage('evaluate', async () => {
      run.report.metrics = await evaluate(modelDir, 'evaluate');
      return formatMetrics(run.report.metrics);
    });
  } else if (manifest?.metrics) {
    run.report.metrics = numbers(manifest.metrics);
    run.skip(
      'evaluate',
      `no evaluate.command: using the published metrics (${formatMetrics(run.report.metrics)})`,
    );
  } else run.skip('evaluate', 'no evaluate.command and no published metrics');

  if (config.gate) {
    const gate = config.gate;
    await run.stage('gate', async () => {
      const candidate = run.report.metrics ?? {};
      const champion = gate.champion ? await championMetrics(run, options, evaluate) : undefined;
      const verdict = evaluateGate(gate, candidate, champion);
      for (const line of verdict.checks) run.log('gate', line);
      if (!verdict.passed) throw new StageFailure(`quality gate: ${verdict.failure}`);
      return verdict.checks.join('; ');
    });
  } else run.skip('gate', 'no gate in shipml.yaml');

  if (!reached(options.until, 'build')) return undefined;
  let built: Awaited<ReturnType<typeof buildProject>> | undefined;
  await run.stage('build', async () => {
    built = await buildProject({
      config,
      configFile: options.configFile,
      cwd: appDir,
      repo: options.repo,
      modelRef: manifest ? `${manifest.name}@${manifest.version}` : undefined,
      cacheDir: options.cacheDir,
      target: options.registry,
      sourceDateEpoch: options.env.SOURCE_DATE_EPOCH
        ? Number(options.env.SOURCE_DATE_EPOCH)
        : undefined,
      onLog: (line) => run.log('build', line),
    });
    run.report.layers = built.layers;
    return `${built.image.digest}: ${built.layers.map((l) => `${l.kind} ${l.status}`).join(', ')}`;
  });

  if (!reached(options.until, 'push')) return undefined;
  let release: Release | undefined;
  await run.stage('push', async () => {
    const repository = config.image?.repository;
    if (!repository)
      throw new ConfigError(`${options.configFile}: image.repository is needed to push`, {
        hint: 'set image.repository (e.g. myacr.azurecr.io/digits), or stop with --until build',
      });
    const image = built!.image;
    const tags = config.image?.tags ?? defaultTags(run.report.inputs?.commit);
    const written = await writeImage(image, parseLocation(repository), tags, options.registry);
    run.report.image = { reference: written.reference, digest: image.digest };
    release = {
      image: written.reference,
      provenance: provenanceOf(image.config.config?.Labels ?? {}),
    };
    const bytes = written.push?.uploadedBytes ?? 0;
    return `${written.reference} (tags ${tags.join(', ')}; ${(bytes / (1024 * 1024)).toFixed(1)} MiB uploaded)`;
  });
  return release;
}

async function releaseStages(run: Run, options: PipelineOptions, known?: Release): Promise<void> {
  const { config, configFile, signal } = options;
  const app = appName(config, configFile, dirname(configFile));
  const deploy = deployConfig(config);
  const spec = deploySpec(deploy, app);
  const image = run.report.image;
  if (!image) throw new StageFailure('no image to deploy');
  const release = known ?? (await releaseOf(image.reference, options.registry));
  const target = await run.deployTarget();
  let url: string | undefined;
  await run.stage('deploy', async () => {
    try {
      const result = await target.deploy(release, spec, {
        signal,
        onEvent: (e) => run.log('deploy', e.message),
      });
      url = result.url;
      run.report.live = result.revision;
      run.report.url = result.url;
      return `revision ${result.revision.number} serves ${release.image} (${result.seconds} s)${url ? ` at ${url}` : ''}`;
    } catch (err) {
      if (err instanceof RolloutError) run.report.live = err.live;
      throw err;
    }
  });
  const verify = config.verify ?? { versionPath: '/version', timeoutSeconds: 30 };
  if (!url) {
    run.skip('verify', `the ${target.kind} target gives no URL to verify through`);
    return;
  }
  const at = url;
  await run.stage('verify', async () => {
    try {
      const checks = await verifyRelease({
        url: at,
        release,
        readinessPath: spec.readinessPath,
        verify,
        signal,
      });
      return checks.join('; ');
    } catch (err) {
      const why = (err as Error).message;
      run.log('verify', `verification failed (${why}): rolling back`);
      const back = await target.rollback(app, undefined, { signal: undefined }).then(
        (r) => `rolled back: revision ${r.revision.number} (${r.revision.image}) serves`,
        async () => {
          await target.destroy(app);
          return 'nothing to roll back to: the release was removed';
        },
      );
      run.report.live = (await target.status(app)).live;
      throw new StageFailure(`verify: ${why}; ${back}`);
    }
  });
}

/** The model in production (the live revision's) and its metrics: published, else evaluated. */
async function championMetrics(
  run: Run,
  options: BuildRunOptions,
  evaluate: (model: string | undefined, stage: StageName) => Promise<Metrics>,
): Promise<{ label: string; metrics: Metrics | undefined } | undefined> {
  const app = appName(options.config, options.configFile, dirname(options.configFile));
  const target = await run.deployTarget();
  const live = (await target.status(app)).live?.provenance.model;
  if (!live || !options.repo) return undefined;
  const label = `${live.name}@${live.version}`;
  const manifest = await options.repo.resolve(label, options.signal);
  if (manifest.metrics) return { label, metrics: numbers(manifest.metrics) };
  if (!options.config.evaluate) return { label, metrics: undefined };
  run.log('gate', `evaluating the champion ${label} (it has no published metrics)`);
  const dir = await modelInput(
    options.repo,
    manifest,
    options.cacheDir,
    undefined,
    options.signal,
  ).dir();
  return { label, metrics: await evaluate(dir, 'gate') };
}

async function resolveModel(options: BuildRunOptions): Promise<Manifest | undefined> {
  const declared = options.config.model;
  const ref =
    options.modelRef ?? (declared?.name ? `${declared.name}:${declared.channel}` : undefined);
  if (!ref || !options.repo) return undefined;
  return options.repo.resolve(ref, options.signal);
}

async function resolveInputs(
  appDir: string,
  configFile: string,
  manifest: Manifest | undefined,
): Promise<RunInputs> {
  const info = await gitInfo(appDir);
  const tree = info
    ? (await git('git', ['-C', appDir, 'rev-parse', 'HEAD^{tree}'])).stdout.trim()
    : undefined;
  return {
    commit: info ? (info.dirty ? `${info.commit}-dirty` : info.commit) : undefined,
    tree,
    dirty: info?.dirty ?? true,
    model: manifest && { name: manifest.name, version: manifest.version, digest: manifest.digest },
    configHash: sha256(await readFile(configFile)),
  };
}

function describeInputs(i: RunInputs): string {
  const parts = [
    i.commit
      ? `commit ${i.commit.slice(0, 12)}${i.dirty ? ' (uncommitted changes)' : ''}`
      : 'not a git checkout',
    i.model
      ? `model ${i.model.name}@${i.model.version} (${i.model.digest.slice(0, 19)}…)`
      : 'no model',
    `config ${i.configHash.slice(0, 12)}`,
  ];
  return parts.join(', ');
}

/** True when a run stopping after `until` includes `stage`. */
function reached(until: StageName | undefined, stage: StageName): boolean {
  return !until || STAGES.indexOf(stage) <= STAGES.indexOf(until);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function numbers(record: Record<string, unknown>): Metrics {
  return Object.fromEntries(
    Object.entries(record).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
}

function formatMetrics(m: Metrics): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${+v.toPrecision(6)}`)
    .join(', ');
}

function lastMeaningful(tail: string[]): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  return (
    lines.findLast((l) => /fail|error|✗|×|assert/i.test(l)) ??
    lines.at(-1) ??
    'no output'
  ).slice(0, 200);
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

function withReport(err: unknown, report: RunReport): RunFailedError {
  return new RunFailedError(err, report);
}
