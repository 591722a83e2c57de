import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ShipmlConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { Manifest } from '../model-store/manifest.js';
import type { ModelRepository } from '../model-store/repository.js';
import { BlobDir } from '../oci/blobs.js';
import { hexOf, type Digest } from '../oci/digest.js';
import { parseLocation, readImage, type RegistryAccess } from '../oci/locations.js';
import { gitInfo } from './git.js';
import { DEFAULT_MODEL_ROOT, type ModelLayerInput } from './model-layer.js';
import { buildWithDockerfile } from './dockerfile.js';
import type { BuildResult } from './finish.js';
import { buildNodeImage } from './node-app.js';

export interface ProjectBuildInput {
  config: ShipmlConfig;
  /** The shipml.yaml the config came from (paths are relative to it). */
  configFile: string | undefined;
  cwd: string;
  /** The model store; undefined builds without a model. */
  repo: ModelRepository | undefined;
  /** A model reference overriding `model.name:model.channel`. */
  modelRef?: string | undefined;
  cacheDir: string;
  target: RegistryAccess;
  sourceDateEpoch?: number | undefined;
  /** Build output lines (Dockerfile builds). */
  onLog?: ((line: string) => void) | undefined;
}

/** The local blob cache for image layers. */
export function layerCache(cacheDir: string): BlobDir {
  return new BlobDir(join(cacheDir, 'oci'));
}

/**
 * Builds the project's image as shipml.yaml describes it: resolves the base image and the
 * model (the channel's current version, pulled verified into the cache once per digest),
 * then runs the native builder.
 */
export async function buildProject(
  input: ProjectBuildInput,
): Promise<BuildResult & { model: ModelLayerInput | undefined }> {
  const build = input.config.build;
  if (!build)
    throw new ConfigError(`${input.configFile ?? 'shipml.yaml'}: no build section`, {
      hint: 'add build.base (and build.cmd) to shipml.yaml',
    });
  const root = input.configFile ? dirname(input.configFile) : input.cwd;
  const appDir = resolve(root, build.context);
  const model = await resolveModel(input, build.modelPath);
  const git = await gitInfo(appDir);
  const where = input.configFile ?? 'shipml.yaml';
  const config = {
    ...(build.entrypoint ? { entrypoint: build.entrypoint } : {}),
    ...(build.cmd ? { cmd: build.cmd } : {}),
    ...(build.env ? { env: build.env } : {}),
    ...(build.ports ? { exposedPorts: build.ports.map(String) } : {}),
    ...(build.user ? { user: build.user } : {}),
    ...(build.labels ? { labels: build.labels } : {}),
  };
  const blobs = layerCache(input.cacheDir);
  let result: BuildResult;
  if (build.kind === 'dockerfile') {
    result = await buildWithDockerfile({
      context: appDir,
      dockerfile: resolve(appDir, build.dockerfile),
      args: build.args ?? {},
      models: model ? [model] : [],
      config,
      git,
      sourceDateEpoch: input.sourceDateEpoch,
      blobs,
      env: input.target.env,
      onLog: input.onLog,
      signal: input.target.signal,
    });
  } else {
    if (!build.base)
      throw new ConfigError(
        `${where}: build.base: the node builder needs a base image (a registry reference or oci:DIR)`,
      );
    result = await buildNodeImage({
      appDir,
      base: await readImage(parseLocation(build.base), input.target),
      workdir: build.workdir,
      include: build.include,
      models: model ? [model] : [],
      config,
      git,
      sourceDateEpoch: input.sourceDateEpoch,
      blobs,
    });
  }
  return { ...result, model };
}

async function resolveModel(
  input: ProjectBuildInput,
  modelPath: string | undefined,
): Promise<ModelLayerInput | undefined> {
  const declared = input.config.model;
  const ref =
    input.modelRef ?? (declared?.name ? `${declared.name}:${declared.channel}` : undefined);
  if (!ref || !input.repo) return undefined;
  const manifest = await input.repo.resolve(ref, input.target.signal);
  return modelInput(input.repo, manifest, input.cacheDir, modelPath, input.target.signal);
}

/**
 * A model for the builder. Its files are pulled (verified) into the cache once per model
 * digest, and only when a layer must actually be built: a recorded layer the registry
 * already holds never needs them.
 */
export function modelInput(
  repo: ModelRepository,
  manifest: Manifest,
  cacheDir: string,
  modelPath: string | undefined,
  signal?: AbortSignal,
): ModelLayerInput {
  const dir = join(cacheDir, 'model-dirs', hexOf(manifest.digest as Digest));
  let pulled: Promise<string> | undefined;
  const materialize = async (): Promise<string> => {
    if (await stat(dir).catch(() => undefined)) return dir;
    // Pulled beside and renamed, so a present directory is always complete.
    const temp = `${dir}.${process.pid}.partial`;
    await mkdir(dirname(dir), { recursive: true });
    await rm(temp, { recursive: true, force: true });
    await repo.pull(`${manifest.name}@${manifest.version}`, temp, signal);
    await rename(temp, dir).catch(async (err: unknown) => {
      await rm(temp, { recursive: true, force: true });
      if (!(await stat(dir).catch(() => undefined))) throw err; // else a concurrent build won
    });
    return dir;
  };
  return {
    name: manifest.name,
    version: manifest.version,
    digest: manifest.digest,
    target: modelPath ?? `${DEFAULT_MODEL_ROOT}/${manifest.name}`,
    files: manifest.files,
    openFile: (path) => repo.openFile(manifest, path, signal),
    recorded: manifest.layer
      ? { ...manifest.layer, digest: manifest.layer.digest as Digest }
      : undefined,
    dir: () => (pulled ??= materialize()),
  };
}
