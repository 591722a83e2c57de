import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { BlobDir } from '../oci/blobs.js';
import {
  appendLayers,
  withAnnotations,
  withConfig,
  type AppendedLayer,
  type ConfigPatch,
} from '../oci/mutate.js';
import type { OciImage } from '../oci/image.js';
import { collectEntries } from '../oci/tar.js';
import type { Image } from '../oci/types.js';
import type { GitInfo } from './git.js';
import { cachedLayer } from './layer-cache.js';
import { FIXED_LAYER_TIME, modelLayer, type ModelLayerInput } from './model-layer.js';
import { productionDependencies } from './node-deps.js';
import { provenance, provenanceEnv } from './provenance.js';

/** Names never copied into the app layer. */
const ALWAYS_EXCLUDED = new Set([
  'node_modules',
  '.git',
  '.shipml',
  '.cache',
  'coverage',
  'test-artifacts',
]);

export interface NodeBuildInput {
  /** The app's directory (package.json, package-lock.json, installed node_modules). */
  appDir: string;
  base: Image;
  /** Where the app lives in the image. */
  workdir: string;
  /** Paths (relative to appDir) for the app layer; default: everything but node_modules, .git, .shipml. */
  include?: readonly string[] | undefined;
  models: readonly ModelLayerInput[];
  config: ConfigPatch;
  git?: GitInfo | undefined;
  /** Layer timestamp; default the commit time (reproducible), else the epoch. */
  sourceDateEpoch?: number | undefined;
  blobs: BlobDir;
}

export interface NodeBuildResult {
  image: OciImage;
  /** For each layer ShipML added: was it served from the cache? */
  layers: Array<{
    kind: 'dependencies' | 'app' | 'model';
    digest: string;
    size: number;
    cached: boolean;
  }>;
}

/**
 * Builds a Node.js app image without a Docker daemon (like ko and Jib): base image +
 * production dependencies + app files + one plain-tar layer per model. Each layer depends
 * only on its own inputs, so a code change rebuilds only the app layer, a dependency change
 * only the dependency layer, a new model only its model layer.
 */
export async function buildNodeImage(input: NodeBuildInput): Promise<NodeBuildResult> {
  // File times inside layers are fixed (as Jib does): a commit that leaves the files alone
  // leaves the layers alone. SOURCE_DATE_EPOCH, when set, is honoured for the app's files.
  // The commit time goes where it means something: the image's `created`.
  const appMtime =
    input.sourceDateEpoch !== undefined ? new Date(input.sourceDateEpoch * 1000) : FIXED_LAYER_TIME;
  const created =
    input.sourceDateEpoch !== undefined ? appMtime : (input.git?.commitTime ?? FIXED_LAYER_TIME);
  const workdir = posix.normalize(`/${input.workdir}`);
  const appended: AppendedLayer[] = [];
  const report: NodeBuildResult['layers'] = [];

  const depsEntries = await productionDependencies(input.appDir, workdir);
  if (depsEntries.length > 0) {
    const deps = await cachedLayer('dependencies', depsEntries, {
      blobs: input.blobs,
      mtime: FIXED_LAYER_TIME,
      compress: true,
    });
    appended.push({ layer: deps.layer, createdBy: 'shipml: production node_modules' });
    report.push({
      kind: 'dependencies',
      digest: deps.layer.digest,
      size: deps.layer.size,
      cached: deps.cached,
    });
  }

  const appEntries = await collectEntries(input.appDir, {
    target: workdir,
    include: input.include,
    exclude: (rel) => ALWAYS_EXCLUDED.has(rel.split('/')[0]!),
  });
  const app = await cachedLayer('app', appEntries, {
    blobs: input.blobs,
    mtime: appMtime,
    compress: true,
  });
  appended.push({ layer: app.layer, createdBy: 'shipml: app' });
  report.push({ kind: 'app', digest: app.layer.digest, size: app.layer.size, cached: app.cached });

  for (const model of input.models) {
    const built = await modelLayer(model, input.blobs);
    appended.push({
      layer: built.layer,
      createdBy: `shipml: model ${model.name}@${model.version}`,
    });
    report.push({
      kind: 'model',
      digest: built.layer.digest,
      size: built.layer.size,
      cached: built.cached,
    });
  }

  const version = await appVersion(input.appDir);
  const facts = {
    git: input.git,
    created,
    version,
    models: input.models.map((m) => ({
      name: m.name,
      version: m.version,
      digest: m.digest,
      target: m.target,
    })),
  };
  const labels = provenance(facts);
  let image = appendLayers(input.base, appended);
  image = withConfig(image, {
    ...input.config,
    workdir,
    env: { NODE_ENV: 'production', ...provenanceEnv(facts), ...(input.config.env ?? {}) },
    labels: { ...labels, ...(input.config.labels ?? {}) },
    created: created.toISOString(),
  });
  return { image: withAnnotations(image, labels), layers: report };
}

async function appVersion(appDir: string): Promise<string | undefined> {
  try {
    return (
      JSON.parse(await readFile(join(appDir, 'package.json'), 'utf8')) as { version?: string }
    ).version;
  } catch {
    return undefined;
  }
}
