/**
 * The model a build packages, resolved once, the same way for `shipml build`, `shipml run`
 * and `shipml image add-model`: which version (an explicit reference, else the configured
 * channel), and how its files reach a builder (pulled only if a layer must be built).
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ShipmlConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { Manifest } from '../model-store/manifest.js';
import type { ModelRepository } from '../model-store/repository.js';
import { hexOf, type Digest } from '../oci/digest.js';
import { parseReference } from '../oci/remote/reference.js';
import type { RegistryAccess } from '../oci/locations.js';
import { artifactModelInput, isArtifactReference } from './model-artifact-input.js';
import { DEFAULT_MODEL_ROOT, type ModelLayerInput } from './model-layer.js';

/** Where a build's model comes from. */
export interface ModelSource {
  config: ShipmlConfig;
  /** The model store; undefined builds without a model. */
  repo: ModelRepository | undefined;
  /**
   * A model reference overriding `model.name:model.channel`: name@version, name:channel, or
   * oci://REGISTRY/REPO:TAG (a ModelPack artifact: model-artifact-input.ts).
   */
  modelRef?: string | undefined;
  /** Registry access, for an oci:// model. */
  registry?: RegistryAccess | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The model's manifest: `modelRef` if given, else the version `model.channel` points at now;
 * undefined when there is no model to package (no store, or no model.name and no reference).
 */
export async function resolveManifest(source: ModelSource): Promise<Manifest | undefined> {
  const declared = source.config.model;
  if (isArtifactReference(source.modelRef))
    throw new ConfigError(
      `model ${source.modelRef}: a registry artifact is a model for \`shipml build\` only; runs test and gate models from the store`,
      {
        hint: 'publish it to the store (shipml model publish), or build with shipml build --model',
      },
    );
  const ref =
    source.modelRef ?? (declared?.name ? `${declared.name}:${declared.channel}` : undefined);
  if (!ref || !source.repo) return undefined;
  return source.repo.resolve(ref, source.signal);
}

/** resolveManifest, then modelInput at `build.modelPath`. */
export async function resolveModelInput(
  source: ModelSource & { cacheDir: string },
): Promise<ModelLayerInput | undefined> {
  if (isArtifactReference(source.modelRef))
    return artifactModelInput(
      source.modelRef,
      source.registry ?? { env: {} },
      source.cacheDir,
      source.config.build?.modelPath,
      source.signal,
    );
  const manifest = await resolveManifest(source);
  if (!manifest || !source.repo) return undefined;
  return modelInput(
    source.repo,
    manifest,
    source.cacheDir,
    source.config.build?.modelPath,
    source.signal,
  );
}

/**
 * A model for the builder. Its files are pulled (verified) into the cache once per model
 * digest, and only when a layer must actually be built: a recorded layer the registry
 * already holds never needs them. `dir()` pulls at most once per input.
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
    mountFrom: registryCopyOf(manifest),
    dir: () => (pulled ??= materialize()),
  };
}

/** The repository of the model's registry copy, if its manifest records one. */
function registryCopyOf(manifest: Manifest): ModelLayerInput['mountFrom'] {
  if (!manifest.registry || !manifest.layer) return undefined;
  try {
    const { registry, repository } = parseReference(manifest.registry.reference);
    return { registry, repository };
  } catch {
    return undefined; // a manifest written by hand: the layer is sent instead
  }
}
