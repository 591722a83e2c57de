/**
 * The ImageBuilder contract: every way ShipML turns an app into an image (the native Node.js
 * builder, a Dockerfile through BuildKit) implements exactly this, and one conformance suite
 * (conformance.ts) holds each of them to it. What every builder promises:
 *
 * - **Reproducible**: the same inputs (app files, options, image config, models, git facts,
 *   SOURCE_DATE_EPOCH) give the same image digest, on any machine and with an empty cache.
 *   (The Dockerfile builder promises it as far as BuildKit does: see its README.)
 * - **The model is ShipML's layer, never the app's**: a builder builds the app's layers only
 *   and ends with `finishImage` (finish.ts), which appends one plain-tar layer per model. So
 *   a new model never re-runs the app's build, its bytes are never compressed or copied into
 *   a build context, and a model-only change changes only the model layer.
 * - **Provenance**: the image carries the OCI annotation keys as labels and manifest
 *   annotations (commit, created, version, model name/version/digest/path), and the same
 *   facts as environment variables for the app (MODEL_PATH, MODEL_DIGEST, APP_COMMIT, ...).
 * - **An honest layer report**: the result lists every layer the builder added, with whether
 *   it was built now, served from the cache, or recorded (a model layer known from its
 *   manifest, whose bytes need never be read when the destination has them).
 *
 * Every builder takes the same input (BuildInput) and returns the same result (BuildResult);
 * only `options`, the builder's own section of shipml.yaml `build:`, differs.
 */
import type { z } from 'zod';
import type { Descriptor } from '../core/registry.js';
import type { BlobDir } from '../oci/blobs.js';
import type { OciImage } from '../oci/image.js';
import type { RegistryAccess } from '../oci/locations.js';
import type { ConfigPatch } from '../oci/mutate.js';
import type { GitInfo } from './git.js';
import type { LayerStatus, ModelLayerInput } from './model-layer.js';
import type { imageBuilders } from './registry.js';

/** What a build starts from: the same for every builder. */
export interface BuildInput<O = Record<string, unknown>> {
  /** The app's directory (the build context), absolute. */
  appDir: string;
  /** The builder's own options (its schema.ts), validated. */
  options: O;
  /** Where the options came from, for messages: `shipml.yaml: build`. */
  where: string;
  /** The image config every builder applies (entrypoint, cmd, env, ports, user, labels). */
  config: ConfigPatch;
  /** The models to append, one layer each, in order (usually one; none builds the app alone). */
  models: readonly ModelLayerInput[];
  /** The commit the app is built from; undefined outside a git checkout. */
  git: GitInfo | undefined;
  /** SOURCE_DATE_EPOCH (seconds): file times and `created`; default fixed times and the commit time. */
  sourceDateEpoch: number | undefined;
  /** The local blob cache layers are built into and served from. */
  blobs: BlobDir;
  /** How to reach registries (base images). */
  registry: RegistryAccess;
  /** Environment for tools the builder runs (docker: DOCKER_HOST, ...). */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  /** Output lines of tools the builder runs (BuildKit's), as they come. */
  onLog?: ((line: string) => void) | undefined;
}

/** One layer a builder added, and whether the cache served it. */
export interface BuiltLayer {
  kind: 'dependencies' | 'app' | 'model';
  digest: string;
  size: number;
  /** built now, cached from an earlier build, or recorded (a model layer known from its manifest). */
  status: LayerStatus;
}

/** What every builder returns. */
export interface BuildResult {
  image: OciImage;
  /** The layers the builder added (not the base image's), bottom to top; models last. */
  layers: BuiltLayer[];
}

/** A builder, loaded. */
export interface ImageBuilder<O = Record<string, unknown>> {
  /** Builds the app's image from `input`; the models are appended last (finishImage). */
  build(input: BuildInput<O>): Promise<BuildResult>;
}

/**
 * An image builder as the registry knows it. Its folder holds schema.ts (its options: keys of
 * shipml.yaml `build:` beside the shared ones; no SDK), descriptor.ts (this object), index.ts
 * (the ImageBuilder, loaded by `open`) and README.md.
 */
export interface BuilderDescriptor<S extends z.ZodObject = z.ZodObject> extends Descriptor {
  /** The builder's own keys of `build:` (a plain object schema: the config schema composes it). */
  readonly optionsSchema: S;
  /** Loads the builder; async so its implementation (and what it imports) loads only when used. */
  open(): Promise<ImageBuilder<z.output<S>>>;
}

/** An image builder's id (`node`, `dockerfile`): shipml.yaml `build.kind`. */
export type BuilderKind = (typeof imageBuilders)['ids'][number];
