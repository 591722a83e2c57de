import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { parseLocation, readImage } from '../../oci/locations.js';
import type { AppendedLayer } from '../../oci/mutate.js';
import { collectEntries, type TarEntry } from '../../oci/tar.js';
import { finishImage } from '../finish.js';
import { cachedLayer } from '../layer-cache.js';
import { FIXED_LAYER_TIME } from '../model-layer.js';
import type { BuildInput, BuildResult, BuiltLayer, ImageBuilder } from '../types.js';
import { productionDependencies } from './deps.js';
import { nodePlatformOf } from './platform-prune.js';
import type { NodeBuilderOptions } from './schema.js';

/** Names never copied into the app layer. */
const ALWAYS_EXCLUDED = new Set([
  'node_modules',
  '.git',
  '.shipml',
  '.cache',
  'coverage',
  'test-artifacts',
]);

/**
 * Builds a Node.js app image without a Docker daemon (like ko and Jib): base image +
 * production dependencies + app files + one plain-tar layer per model. Each layer depends
 * only on its own inputs, so a code change rebuilds only the app layer, a dependency change
 * only the dependency layer, a new model only its model layer.
 */
export const nodeBuilder: ImageBuilder<NodeBuilderOptions> = {
  async build(input: BuildInput<NodeBuilderOptions>): Promise<BuildResult> {
    const { options } = input;
    if (!options.base)
      throw new ConfigError(
        `${input.where}.base: the node builder needs a base image (a registry reference or oci:DIR)`,
      );
    const base = await readImage(parseLocation(options.base), input.registry);
    // File times inside layers are fixed (as Jib does): a commit that leaves the files alone
    // leaves the layers alone. SOURCE_DATE_EPOCH, when set, is honoured for the app's files.
    // The commit time goes where it means something: the image's `created`.
    const appMtime =
      input.sourceDateEpoch !== undefined
        ? new Date(input.sourceDateEpoch * 1000)
        : FIXED_LAYER_TIME;
    const created =
      input.sourceDateEpoch !== undefined ? appMtime : (input.git?.commitTime ?? FIXED_LAYER_TIME);
    const workdir = posix.normalize(`/${options.workdir}`);
    const appended: AppendedLayer[] = [];
    const report: BuiltLayer[] = [];
    /** A compressed layer, built unless cached; recorded in the image and the report. */
    const add = async (
      kind: 'dependencies' | 'app',
      entries: TarEntry[],
      mtime: Date,
      createdBy: string,
    ) => {
      const built = await cachedLayer(kind, entries, { blobs: input.blobs, mtime, compress: true });
      const { digest, size } = built.layer;
      appended.push({ layer: built.layer, createdBy });
      report.push({ kind, digest, size, status: built.cached ? 'cached' : 'built' });
    };

    // The image runs on the base's platform, whatever machine ran npm ci or runs this build.
    const platform = options.prunePlatforms === false ? undefined : nodePlatformOf(base.config);
    const deps = await productionDependencies(input.appDir, workdir, { platform });
    if (deps.length > 0)
      await add('dependencies', deps, FIXED_LAYER_TIME, 'shipml: production node_modules');
    const app = await collectEntries(input.appDir, {
      target: workdir,
      include: options.include,
      exclude: (rel) => ALWAYS_EXCLUDED.has(rel.split('/')[0]!),
    });
    await add('app', app, appMtime, 'shipml: app');

    return finishImage(base, {
      appended,
      report,
      models: input.models,
      git: input.git,
      created,
      version: await appVersion(input.appDir),
      config: { ...input.config, workdir },
      builderEnv: { NODE_ENV: 'production' },
      base: { name: options.base, digest: base.digest },
      blobs: input.blobs,
    });
  },
};

async function appVersion(appDir: string): Promise<string | undefined> {
  try {
    return (
      JSON.parse(await readFile(join(appDir, 'package.json'), 'utf8')) as { version?: string }
    ).version;
  } catch {
    return undefined;
  }
}
