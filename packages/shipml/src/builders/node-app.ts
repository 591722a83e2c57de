import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { BlobDir } from '../oci/blobs.js';
import type { AppendedLayer, ConfigPatch } from '../oci/mutate.js';
import { collectEntries } from '../oci/tar.js';
import type { Image } from '../oci/types.js';
import type { GitInfo } from './git.js';
import { cachedLayer } from './layer-cache.js';
import { finishImage, type BuildResult, type BuiltLayer } from './finish.js';
import { FIXED_LAYER_TIME, type ModelLayerInput } from './model-layer.js';
import { productionDependencies } from './node-deps.js';

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
  /** SOURCE_DATE_EPOCH: app file times and `created`; default fixed times and the commit time. */
  sourceDateEpoch?: number | undefined;
  blobs: BlobDir;
}

export type NodeBuildResult = BuildResult;

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
  const report: BuiltLayer[] = [];

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
      status: deps.cached ? 'cached' : 'built',
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
  report.push({
    kind: 'app',
    digest: app.layer.digest,
    size: app.layer.size,
    status: app.cached ? 'cached' : 'built',
  });

  return finishImage(input.base, {
    appended,
    report,
    models: input.models,
    git: input.git,
    created,
    version: await appVersion(input.appDir),
    config: { ...input.config, workdir },
    builderEnv: { NODE_ENV: 'production' },
    blobs: input.blobs,
  });
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
