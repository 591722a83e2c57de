import { dirname, resolve } from 'node:path';
import type { ShipmlConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { RegistryAccess } from '../oci/locations.js';
import type { ConfigPatch } from '../oci/mutate.js';
import type { BuildConfig } from './config-schema.js';
import { gitInfo, type GitInfo } from './git.js';
import { layerCache } from './layer-cache.js';
import type { ModelLayerInput } from './model-layer.js';
import { imageBuilders } from './registry.js';
import type { BuildResult, BuilderDescriptor } from './types.js';

export interface ProjectBuildInput {
  config: ShipmlConfig;
  /** The shipml.yaml the config came from (paths are relative to it). */
  configFile: string | undefined;
  cwd: string;
  /** The model to package (see model-input.ts); undefined builds without a model. */
  model: ModelLayerInput | undefined;
  cacheDir: string;
  registry: RegistryAccess;
  sourceDateEpoch?: number | undefined;
  /** Output lines of the tools the builder runs (BuildKit's). */
  onLog?: ((line: string) => void) | undefined;
  /**
   * The git facts of {@link appDirOf}'s directory, if the caller started reading them
   * already (while it resolved the model); else they are read here.
   */
  git?: Promise<GitInfo | undefined> | undefined;
}

/**
 * Builds the project's image as shipml.yaml describes it: the builder `build.kind` names
 * (through the registry), given the shared image config, the model and the git facts.
 */
export async function buildProject(
  input: ProjectBuildInput,
): Promise<BuildResult & { model: ModelLayerInput | undefined }> {
  const where = input.configFile ?? 'shipml.yaml';
  const build = buildSection(input.config, input.configFile);
  const appDir = appDirOf(input.config, input.configFile, input.cwd);
  // Widened to the contract: the config schema paired these options with this builder.
  const descriptor: BuilderDescriptor = imageBuilders.get(build.kind, `${where}: build.kind`);
  // git runs in its own processes while the builder's modules load.
  const git = input.git ?? gitInfo(appDir);
  git.catch(() => undefined); // awaited below, after the builder's modules
  let builder: Awaited<ReturnType<BuilderDescriptor['open']>>;
  let options: ReturnType<BuilderDescriptor['optionsSchema']['parse']>;
  try {
    builder = await descriptor.open();
    // The builder's own keys of `build:` (an object schema drops the shared ones).
    options = descriptor.optionsSchema.parse(build);
  } catch (err) {
    await git.catch(() => undefined); // no git process outlives the build
    throw err;
  }
  const models = input.model ? [input.model] : [];
  const result = await builder.build({
    appDir,
    options,
    where: `${where}: build`,
    config: imageConfig(build),
    models,
    git: await git,
    sourceDateEpoch: input.sourceDateEpoch,
    blobs: layerCache(input.cacheDir),
    registry: input.registry,
    env: input.registry.env,
    signal: input.registry.signal,
    onLog: input.onLog,
  });
  return { ...result, model: input.model };
}

/** The directory the app is built from: `build.context`, relative to shipml.yaml. */
export function appDirOf(
  config: ShipmlConfig,
  configFile: string | undefined,
  cwd: string,
): string {
  const root = configFile ? dirname(configFile) : cwd;
  return resolve(root, buildSection(config, configFile).context);
}

/** The `build:` section of the config; a ConfigError when there is none. */
export function buildSection(config: ShipmlConfig, configFile: string | undefined): BuildConfig {
  if (config.build) return config.build;
  throw new ConfigError(`${configFile ?? 'shipml.yaml'}: no build section`, {
    hint: 'add build.base (and build.cmd) to shipml.yaml',
  });
}

/** The image config every builder applies, from the shared keys of `build:`. */
function imageConfig(build: BuildConfig): ConfigPatch {
  return {
    ...(build.entrypoint ? { entrypoint: build.entrypoint } : {}),
    ...(build.cmd ? { cmd: build.cmd } : {}),
    ...(build.env ? { env: build.env } : {}),
    ...(build.ports ? { exposedPorts: build.ports.map(String) } : {}),
    ...(build.user ? { user: build.user } : {}),
    ...(build.labels ? { labels: build.labels } : {}),
  };
}
