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
    // The base comes over the network while the app's files are walked and hashed.
    const reading = readImage(parseLocation(options.base), input.registry);
    reading.catch(() => undefined); // awaited first below: its failure is the one reported
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
    /** A compressed layer, built unless cached. */
    const layer = async (kind: 'dependencies' | 'app', entries: TarEntry[], mtime: Date) => ({
      kind,
      ...(await cachedLayer(kind, entries, { blobs: input.blobs, mtime, compress: true })),
    });
    /** Recorded in the image and the report, in the image's layer order. */
    const add = (built: Awaited<ReturnType<typeof layer>>, createdBy: string) => {
      const { digest, size } = built.layer;
      appended.push({ layer: built.layer, createdBy });
      report.push({ kind: built.kind, digest, size, status: built.cached ? 'cached' : 'built' });
    };

    const appLayer = collectEntries(input.appDir, {
      target: workdir,
      include: options.include,
      exclude: (rel) => ALWAYS_EXCLUDED.has(rel.split('/')[0]!),
    }).then((app) => layer('app', app, appMtime));
    appLayer.catch(() => undefined); // awaited after the base and the dependencies
    const version = appVersion(input.appDir);
    let base: Awaited<typeof reading>;
    try {
      base = await reading;
      // The image runs on the base's platform, whatever machine ran npm ci or runs this build.
      const platform = options.prunePlatforms === false ? undefined : nodePlatformOf(base.config);
      const deps = await productionDependencies(input.appDir, workdir, { platform });
      if (deps.length > 0)
        add(await layer('dependencies', deps, FIXED_LAYER_TIME), 'shipml: production node_modules');
    } catch (err) {
      // The first failure is the one reported, once the app layer no longer writes the cache.
      await appLayer.catch(() => undefined);
      throw err;
    }
    add(await appLayer, 'shipml: app');

    return finishImage(base, {
      appended,
      report,
      models: input.models,
      git: input.git,
      created,
      version: await version,
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
