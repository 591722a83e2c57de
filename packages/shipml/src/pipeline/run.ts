/**
 * The pipeline: resolve inputs → fetch model (verified) → prepare → test → evaluate → gate → build →
 * push → sign → deploy → verify → record (without an evaluate.command, evaluate and gate run
 * before prepare: they decide on the published metrics). `runPipeline` is the build pipeline (and, without
 * `until`, the release too); `releasePipeline` deploys an image already built.
 *
 * A failing stage stops the run; nothing after it runs, so a failed gate never pushes and a
 * failed push never deploys. A failed deploy or verify leaves the previous release serving
 * (the target rolls back). Every run, whatever happens, leaves a report.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gitInfo } from '../builders/git.js';
import { resolveManifest } from '../builders/model-input.js';
import { releaseOf } from '../deploy/release.js';
import type { Release } from '../deploy/types.js';
import type { Manifest } from '../model-store/manifest.js';
import { stagesFrom, type RunInputs, type RunReport } from './types.js';
import { buildStages } from './build-stages.js';
import { releaseStages } from './release-stages.js';
import { signStage } from './sign-stage.js';
import {
  Run,
  reached,
  withReport,
  type BuildRunOptions,
  type PipelineOptions,
} from './run-state.js';

export { RunFailedError, type BuildRunOptions, type PipelineOptions } from './run-state.js';

const git = promisify(execFile);

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
      manifest = await resolveManifest(options);
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
      for (const stage of stagesFrom('fetch-model', 'push')) run.skip(stage, why);
      await signStage(run, options, { manifest, reused: previous });
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

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
