import { resolveModelInput } from '../builders/model-input.js';
import { gitInfo } from '../builders/git.js';
import { appDirOf, buildProject, buildSection } from '../builders/project.js';
import { defaultTags } from '../builders/provenance.js';
import { ConfigError } from '../core/errors.js';
import { parseLocation, type ImageLocation, type WriteResult } from '../oci/locations.js';
import { cacheDirOf, registryAccess } from './access.js';
import type { BuildFlags } from './build.js';
import { loadCliConfig, openRepository, type CliContext } from './context.js';
import { formatBytes, shortDigest, table } from './output.js';
import { uploadSummary, writeTo } from './write.js';

/** Builds the image shipml.yaml describes, then pushes or exports it as the flags say. */
export async function build(ctx: CliContext, flags: BuildFlags): Promise<void> {
  const withModel = flags.model !== false;
  const { repo, loaded } = withModel
    ? await openRepository(ctx, flags)
    : { repo: undefined, loaded: await loadCliConfig(ctx, flags) };
  const cacheDir = cacheDirOf(ctx, loaded);
  // One client per registry for the whole build: the base's read and the push share a ping
  // and their connections.
  const target = { ...registryAccess(ctx, loaded, flags), clients: new Map() };
  const epoch = ctx.env.SOURCE_DATE_EPOCH ? Number(ctx.env.SOURCE_DATE_EPOCH) : undefined;
  if (epoch !== undefined && !Number.isInteger(epoch))
    throw new ConfigError(
      `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(ctx.env.SOURCE_DATE_EPOCH)}`,
    );

  const started = Date.now();
  buildSection(loaded.config, loaded.file); // before the model: a config without one fails first
  // git's processes run while the model store answers (buildProject awaits them), and the
  // registry client's HTTP stack loads meanwhile: the CPU is idle while git runs.
  const git = gitInfo(appDirOf(loaded.config, loaded.file, ctx.cwd));
  git.catch(() => undefined); // a model that fails to resolve is the error to report
  if (flags.push || !loaded.config.build?.base?.startsWith('oci:'))
    import('undici').catch(() => undefined);
  const model = await resolveModelInput({
    config: loaded.config,
    repo,
    modelRef: typeof flags.model === 'string' ? flags.model : undefined,
    registry: target,
    cacheDir,
    signal: ctx.signal,
  }).catch(async (err: unknown) => {
    await git.catch(() => undefined); // no git process outlives the command
    throw err;
  });
  const result = await buildProject({
    config: loaded.config,
    configFile: loaded.file,
    cwd: ctx.cwd,
    model,
    cacheDir,
    registry: target,
    sourceDateEpoch: epoch,
    git,
  });
  const built = Date.now();

  const tags = flags.tag.length
    ? flags.tag
    : (loaded.config.image?.tags ??
      defaultTags(
        result.image.config.config?.Labels?.['org.opencontainers.image.revision'],
        result.model,
      ));
  const output = flags.push ? 'registry' : flags.output;
  let written: WriteResult | undefined;
  if (output) {
    const location = outputLocation(output, loaded.config.image?.repository);
    written = await writeTo(ctx, result.image, location, tags, {
      ...target,
      progress: ctx.tty
        ? undefined
        : {
            blob: (e) =>
              e.action === 'uploaded' &&
              e.size > 4 * 1024 * 1024 &&
              ctx.output.note(
                `${new Date().toISOString()} uploaded ${shortDigest(e.digest)} (${formatBytes(e.size)})`,
              ),
          },
    });
  }
  const finished = Date.now();

  const summary = {
    digest: result.image.digest,
    reference: written?.reference ?? null,
    tags: output ? tags : [],
    model: result.model
      ? {
          name: result.model.name,
          version: result.model.version,
          digest: result.model.digest,
          path: result.model.target,
        }
      : null,
    layers: result.layers,
    upload: uploadSummary(written),
    movedTags: written?.push?.movedTags ?? [],
    seconds: { build: (built - started) / 1000, output: (finished - built) / 1000 },
  };
  if (flags.json) return ctx.output.json(summary);
  ctx.output.line(`image ${written?.reference ?? result.image.digest}`);
  if (result.model)
    ctx.output.line(
      `  model ${result.model.name}@${result.model.version} (${shortDigest(result.model.digest)}) at ${result.model.target}`,
    );
  const rows = result.layers.map((l) => [
    l.kind,
    shortDigest(l.digest),
    formatBytes(l.size),
    l.status,
  ]);
  for (const line of table(['LAYER', 'DIGEST', 'SIZE', 'STATUS'], rows))
    ctx.output.line(`  ${line}`);
  if (written?.push)
    ctx.output.line(
      `  pushed ${tags.join(', ')}: ${formatBytes(written.push.uploadedBytes)} uploaded (${written.push.blobs.uploaded} blobs; ${written.push.blobs.exists} already there, ${written.push.blobs.mounted} mounted)`,
    );
  ctx.output.line(
    `  ${summary.seconds.build.toFixed(2)} s build, ${summary.seconds.output.toFixed(2)} s output`,
  );
}

/** `registry` means image.repository; anything else is a location. */
function outputLocation(output: string, repository: string | undefined): ImageLocation {
  if (output === 'registry') {
    if (!repository)
      throw new ConfigError(
        '--push needs image.repository in shipml.yaml (or --output REGISTRY/REPO)',
      );
    return parseLocation(repository);
  }
  return parseLocation(output);
}
