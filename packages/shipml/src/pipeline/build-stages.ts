/**
 * The build half of a run: fetch the model, prepare, test, evaluate, gate, build, push, sign.
 * Each stage must pass for the next to start, so a failing test or gate never pushes anything.
 * Without an evaluate.command, evaluate and gate run right after fetch-model (their inputs are
 * the published metrics), before prepare and test.
 */

import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelLayerInput } from '../builders/model-layer.js';
import { modelInput } from '../builders/model-input.js';
import { buildProject } from '../builders/project.js';
import { defaultTags } from '../builders/provenance.js';
import { CancelledError, ConfigError } from '../core/errors.js';
import { telltaleLine } from '../core/log-lines.js';
import { provenanceOf } from '../deploy/release.js';
import { appName } from '../deploy/spec.js';
import type { Release } from '../deploy/types.js';
import type { Manifest } from '../model-store/manifest.js';
import { movedTagNotes, parseLocation, pushNotes, writeImage } from '../oci/locations.js';
import { runCommand } from './command.js';
import { openRunner } from '../runners/open.js';
import { pullCredentialsFor } from './assemble.js';
import type { CommandRunner } from '../runners/types.js';
import { evaluateGate, parseMetrics, type Metrics } from './gate.js';
import { signStage } from './sign-stage.js';
import type { StageName } from './types.js';
import { type Run, StageFailure, reached, type BuildRunOptions } from './run-state.js';

export async function buildStages(
  run: Run,
  options: BuildRunOptions,
  appDir: string,
  manifest: Manifest | undefined,
): Promise<Release | undefined> {
  const { config, signal } = options;
  const runDir = join(options.runs.dir, run.report.id);
  let modelDir: string | undefined;
  // One model input for the whole run: fetched here, packaged by the build without a re-pull.
  const model: ModelLayerInput | undefined =
    manifest && options.repo
      ? modelInput(options.repo, manifest, options.cacheDir, config.build?.modelPath, signal)
      : undefined;
  if (manifest && model) {
    await run.stage('fetch-model', async () => {
      modelDir = await model.dir();
      const mib = manifest.size / (1024 * 1024);
      return `${manifest.name}@${manifest.version} (${manifest.files.length} files, ${mib.toFixed(1)} MiB), every file's sha256 verified`;
    });
  } else run.skip('fetch-model', 'no model.name in shipml.yaml');

  // The command's own variables; the runner adds MODEL_PATH (and, on the host, ShipML's env).
  const childEnv = (extra: Record<string, string>): Record<string, string> => ({
    ...extra,
    CI: 'true',
  });
  let runner: Promise<CommandRunner> | undefined;
  const commandRunner = (stage: StageName) =>
    (runner ??= (async () => {
      const image = config.runner?.image ?? config.build?.base;
      const opened = await openRunner(config.runner, options.runner, {
        env: options.env,
        defaultImage: config.build?.base,
        labels: options.runner?.labels,
        pull:
          typeof image === 'string'
            ? await pullCredentialsFor(image, { config, env: options.env })
            : undefined,
        say: (line) => run.log(stage, line),
      });
      run.log(stage, `the app's commands run on the ${opened.kind} runner`);
      return opened;
    })());
  const evaluate = async (model: string | undefined, stage: StageName): Promise<Metrics> => {
    const e = config.evaluate!;
    const result = await runCommand(await commandRunner(stage), e.command, {
      cwd: appDir,
      env: childEnv(e.env),
      modelDir: model,
      timeoutSeconds: e.timeoutSeconds,
      signal,
      onLine: (line) => run.log(stage, line),
    });
    if (result.cancelled) throw new CancelledError('the run was cancelled during the evaluation');
    if (result.code !== 0 || result.timedOut)
      throw new StageFailure(
        `\`${e.command}\` failed (${result.timedOut ? 'timed out' : `exit ${result.code ?? result.signal}`}${result.limit ? `; ${result.limit}` : ''}): ${lastMeaningful(result.tail)}`,
      );
    const metrics = parseMetrics(result.stdout);
    if (!metrics)
      throw new StageFailure(`\`${e.command}\` printed no JSON object of metrics on stdout`);
    return metrics;
  };
  // evaluate and gate: the candidate's metrics, then the quality gate on them.
  const judge = async (): Promise<void> => {
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
        run.report.gate = { passed: verdict.passed, checks: verdict.results };
        for (const line of verdict.checks) run.log('gate', line);
        if (!verdict.passed) throw new StageFailure(`quality gate: ${verdict.failure}`);
        return verdict.checks.join('; ');
      });
    } else run.skip('gate', 'no gate in shipml.yaml');
  };
  // Without an evaluate.command the gate decides on what the store already holds (the
  // candidate's and the live model's published metrics), so it runs before prepare and test:
  // a model below the bar fails in a second, not after the app's install and tests.
  const earlyGate = !config.evaluate && reached(options.until, 'gate');
  if (earlyGate) await judge();

  // prepare (npm ci, a build step) and test: the project's own commands, each with its log.
  for (const name of ['prepare', 'test'] as const) {
    const spec = config[name];
    if (!reached(options.until, name)) return undefined;
    if (!spec) {
      run.skip(name, `no ${name}.command in shipml.yaml`);
      continue;
    }
    await run.stage(name, async () => {
      await mkdir(runDir, { recursive: true });
      const logFile = join(runDir, `${name}.log`);
      const result = await runCommand(await commandRunner(name), spec.command, {
        cwd: appDir,
        env: childEnv(spec.env),
        modelDir,
        timeoutSeconds: spec.timeoutSeconds,
        signal,
        onLine: (line) => run.log(name, line),
        logFile,
        redact: options.runs.redact,
      });
      if (result.cancelled) throw new CancelledError(`the run was cancelled during ${name}`);
      const limit = result.limit ? `; ${result.limit}` : '';
      // A limit hit fails the stage even when the command exited 0 (it wrote past its disk
      // allowance, or forks were refused and it carried on).
      if (result.limit && result.code === 0 && !result.timedOut)
        throw new StageFailure(`\`${spec.command}\` exceeded a limit: ${result.limit}`);
      if (result.timedOut)
        throw new StageFailure(
          `\`${spec.command}\` did not finish within ${spec.timeoutSeconds} s${limit}`,
        );
      if (result.code !== 0)
        throw new StageFailure(
          `\`${spec.command}\` failed (exit ${result.code ?? result.signal}${limit}): ${lastMeaningful(result.tail)}`,
        );
      return `\`${spec.command}\` passed (log: ${logFile})`;
    });
  }

  if (!reached(options.until, 'evaluate')) return undefined;
  if (!earlyGate) await judge();

  if (!reached(options.until, 'build')) return undefined;
  let built: Awaited<ReturnType<typeof buildProject>> | undefined;
  await run.stage('build', async () => {
    built = await buildProject({
      config,
      configFile: options.configFile,
      cwd: appDir,
      model,
      cacheDir: options.cacheDir,
      registry: options.registry,
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
    const tags = config.image?.tags ?? defaultTags(run.report.inputs?.commit, built!.model);
    const location = parseLocation(repository);
    const written = await writeImage(image, location, tags, options.registry);
    const moved = movedTagNotes(written, location);
    for (const note of pushNotes(written, location)) run.log('push', note);
    run.report.image = { reference: written.reference, digest: image.digest };
    release = {
      image: written.reference,
      provenance: provenanceOf(image.config.config?.Labels ?? {}),
    };
    const bytes = written.push?.uploadedBytes ?? 0;
    const movedNote = moved.length
      ? `; moved ${written.push!.movedTags.map((m) => m.tag).join(', ')}`
      : '';
    return `${written.reference} (tags ${tags.join(', ')}; ${(bytes / (1024 * 1024)).toFixed(1)} MiB uploaded${movedNote})`;
  });
  await signStage(run, options, { manifest, image: built!.image });
  return release;
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

/** The line of a command's output that says what failed, for the one-line error. */
function lastMeaningful(tail: readonly string[]): string {
  return (telltaleLine(tail) ?? 'no output').slice(0, 200);
}
