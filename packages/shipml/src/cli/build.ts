import { Command } from 'commander';
import { buildProject, layerCache, modelInput } from '../build/project.js';
import { modelLayer, FIXED_LAYER_TIME } from '../build/model-layer.js';
import { OciImage } from '../oci/image.js';
import { buildLayer } from '../oci/layer.js';
import { collectEntries } from '../oci/tar.js';
import { ConfigError } from '../core/errors.js';
import { defaultCacheDir } from '../model-store/cache.js';
import { appendLayers, withAnnotations, withConfig } from '../oci/mutate.js';
import {
  parseLocation,
  readImage,
  writeImage,
  type ImageLocation,
  type WriteResult,
} from '../oci/targets.js';
import { loadCliConfig, openRepository, targetOptions, type CliContext } from './context.js';
import type { CommandRunner } from './model.js';
import { formatBytes, shortDigest, table } from './output.js';
import { provenance, provenanceEnv } from '../build/provenance.js';
import { resolve as resolvePath } from 'node:path';

interface BuildFlags {
  config?: string;
  store?: string;
  push?: boolean;
  tag: string[];
  output?: string;
  /** false with --no-model */
  model?: string | false;
  registryCa?: string;
  insecure?: boolean;
  json?: boolean;
  debug?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `shipml build`: the app developer's command. */
export function buildCommand(run: CommandRunner): Command {
  return new Command('build')
    .description('build the app + model image without a Docker daemon, and push or export it')
    .option('--push', 'push to image.repository in shipml.yaml (same as --output registry)')
    .option(
      '-t, --tag <tag>',
      'tag to apply (repeatable; default: image.tags, else latest and the short commit)',
      collect,
      [],
    )
    .option(
      '-o, --output <where>',
      'registry | oci:DIR[:name] | docker-archive:FILE | docker | a registry reference',
    )
    .option(
      '--model <ref>',
      'model to package instead of model.name:model.channel (name@version or name:channel)',
    )
    .option('--no-model', 'build without a model layer')
    .option('--store <url>', 'model store URL (default: as for `shipml model`)')
    .option('--registry-ca <file>', 'PEM CA certificate of a registry with a private certificate')
    .option('--insecure', 'allow plain HTTP to a registry that is not on loopback')
    .option(
      '-c, --config <file>',
      'shipml.yaml to use (default: nearest in this or a parent directory)',
    )
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--debug', 'print stack traces of errors')
    .action(async (flags: BuildFlags) => {
      await run((ctx) => build(ctx, flags), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    });
}

async function build(ctx: CliContext, flags: BuildFlags): Promise<void> {
  const withModel = flags.model !== false;
  const { repo, loaded } = withModel
    ? await openRepository(ctx, flags)
    : { repo: undefined, loaded: await loadCliConfig(ctx, flags) };
  const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const target = targetOptions(ctx, loaded, flags);
  const epoch = ctx.env.SOURCE_DATE_EPOCH ? Number(ctx.env.SOURCE_DATE_EPOCH) : undefined;
  if (epoch !== undefined && !Number.isInteger(epoch))
    throw new ConfigError(
      `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(ctx.env.SOURCE_DATE_EPOCH)}`,
    );

  const started = Date.now();
  const result = await buildProject({
    config: loaded.config,
    configFile: loaded.file,
    cwd: ctx.cwd,
    repo,
    modelRef: typeof flags.model === 'string' ? flags.model : undefined,
    cacheDir,
    target,
    sourceDateEpoch: epoch,
  });
  const built = Date.now();

  const tags = flags.tag.length
    ? flags.tag
    : (loaded.config.image?.tags ??
      defaultTags(result.image.config.config?.Labels?.['org.opencontainers.image.revision']));
  const output = flags.push ? 'registry' : flags.output;
  let written: WriteResult | undefined;
  if (output) {
    written = await writeImage(
      result.image,
      outputLocation(output, loaded.config.image?.repository),
      tags,
      {
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
      },
    );
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
    upload: written?.push ? { bytes: written.push.uploadedBytes, ...written.push.blobs } : null,
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

function defaultTags(revision: string | undefined): string[] {
  return revision ? ['latest', revision.slice(0, 12).replace(/-dirty$/, '')] : ['latest'];
}

/** `shipml image ...`: operations on built images. */
export function imageCommand(run: CommandRunner): Command {
  const image = new Command('image').description(
    'operate on images: inject a new model without rebuilding',
  );
  image
    .command('add-model')
    .description(
      'the image plus a model layer (the model replaces nothing: it is a new top layer), pushed or exported',
    )
    .argument('<image>', 'source image: registry reference or oci:DIR[:name]')
    .argument('<model-ref>', 'model: name@version or name:channel')
    .option('-o, --output <where>', 'destination (default: the source repository)')
    .option('-t, --tag <tag>', 'tag to apply (repeatable; default: the source tag)', collect, [])
    .option('--model-path <path>', 'where the model lands (default /models/<name>)')
    .option('--store <url>', 'model store URL')
    .option('--registry-ca <file>', 'PEM CA certificate of the registry')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry')
    .option('-c, --config <file>', 'shipml.yaml to use')
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--debug', 'print stack traces of errors')
    .action(
      async (source: string, modelRef: string, flags: BuildFlags & { modelPath?: string }) => {
        await run((ctx) => addModel(ctx, source, modelRef, flags), {
          json: Boolean(flags.json),
          debug: Boolean(flags.debug),
        });
      },
    );
  image.addCommand(importCommand(run));
  image.addCommand(copyCommand(run));
  return image;
}

async function addModel(
  ctx: CliContext,
  source: string,
  modelRef: string,
  flags: BuildFlags & { modelPath?: string },
): Promise<void> {
  const { repo, loaded } = await openRepository(ctx, flags);
  const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const target = targetOptions(ctx, loaded, flags);
  const from = parseLocation(source);
  const base = await readImage(from, target);
  const manifest = await repo.resolve(modelRef, ctx.signal);
  const model = modelInput(repo, manifest, cacheDir, flags.modelPath, ctx.signal);
  const { layer } = await modelLayer(model, layerCache(cacheDir));
  const facts = { git: undefined, created: new Date(base.config.created ?? 0), models: [model] };
  const labels = provenance(facts);
  delete labels['org.opencontainers.image.created'];
  let image = appendLayers(base, [
    { layer, createdBy: `shipml: model ${manifest.name}@${manifest.version}` },
  ]);
  image = withConfig(image, { env: provenanceEnv(facts), labels });
  image = withAnnotations(image, labels);
  const destination = flags.output ? parseLocation(flags.output) : from;
  const ownTag = (l: ImageLocation) => (l.kind === 'registry' ? l.ref.tag : undefined);
  const tags = flags.tag.length ? flags.tag : [ownTag(destination) ?? ownTag(from) ?? 'latest'];
  const written = await writeImage(image, destination, tags, target);
  if (flags.json)
    return ctx.output.json({
      digest: image.digest,
      reference: written.reference,
      base: base.digest,
      model: { name: manifest.name, version: manifest.version, digest: manifest.digest },
      upload: written.push ? { bytes: written.push.uploadedBytes, ...written.push.blobs } : null,
    });
  ctx.output.line(`image ${written.reference}`);
  ctx.output.line(
    `  = ${shortDigest(base.digest)} + model ${manifest.name}@${manifest.version} (${formatBytes(layer.size)} layer)`,
  );
  if (written.push) ctx.output.line(`  ${formatBytes(written.push.uploadedBytes)} uploaded`);
}

/** `shipml image import`: a root filesystem directory as a one-layer image (like `docker import`). */
export function importCommand(run: CommandRunner): Command {
  return new Command('import')
    .description(
      'make a one-layer image from a root filesystem directory (e.g. from debootstrap), like docker import',
    )
    .argument('<rootfs>', 'directory holding the root filesystem')
    .requiredOption(
      '-o, --output <where>',
      'registry reference | oci:DIR[:name] | docker-archive:FILE | docker',
    )
    .option(
      '-t, --tag <tag>',
      'tag to apply (repeatable; default: the output reference tag)',
      collect,
      [],
    )
    .option('--env <name=value>', 'environment variable (repeatable)', collect, [])
    .option('--cmd <json>', 'default command as a JSON array, e.g. ["node"]')
    .option(
      '--exclude <dir>',
      'top-level directory to leave out (repeatable; default dev, proc, sys)',
      collect,
      [],
    )
    .option('--registry-ca <file>', 'PEM CA certificate of the registry')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry')
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--debug', 'print stack traces of errors')
    .action(
      async (
        rootfs: string,
        flags: {
          output: string;
          tag: string[];
          env: string[];
          cmd?: string;
          exclude: string[];
          registryCa?: string;
          insecure?: boolean;
          json?: boolean;
          debug?: boolean;
        },
      ) => {
        await run(
          async (ctx) => {
            const loaded = await loadCliConfig(ctx, {});
            const target = targetOptions(ctx, loaded, flags);
            const excluded = new Set(flags.exclude.length ? flags.exclude : ['dev', 'proc', 'sys']);
            const entries = await collectEntries(resolvePath(ctx.cwd, rootfs), {
              target: '/',
              rootfs: true,
              exclude: (rel) => excluded.has(rel.split('/')[0]!),
            });
            const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
            const layer = await buildLayer(entries, {
              blobs: layerCache(cacheDir),
              mtime: FIXED_LAYER_TIME,
              compress: true,
            });
            let image = appendLayers(OciImage.empty(), [
              { layer, createdBy: `shipml image import ${rootfs}` },
            ]);
            const env = Object.fromEntries(
              flags.env.map((pair) => {
                const eq = pair.indexOf('=');
                if (eq <= 0)
                  throw new ConfigError(`--env ${JSON.stringify(pair)}: expected NAME=value`);
                return [pair.slice(0, eq), pair.slice(eq + 1)];
              }),
            );
            let cmd: string[] | undefined;
            if (flags.cmd) {
              const parsed: unknown = JSON.parse(flags.cmd);
              if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string'))
                throw new ConfigError(`--cmd must be a JSON array of strings, got ${flags.cmd}`);
              cmd = parsed;
            }
            image = withConfig(image, {
              env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env },
              ...(cmd ? { cmd } : {}),
              created: FIXED_LAYER_TIME.toISOString(),
            });
            const destination = parseLocation(flags.output);
            const tags = flags.tag.length
              ? flags.tag
              : [destination.kind === 'registry' ? (destination.ref.tag ?? 'latest') : 'latest'];
            const written = await writeImage(image, destination, tags, target);
            if (flags.json)
              return ctx.output.json({
                digest: image.digest,
                reference: written.reference,
                size: layer.size,
              });
            ctx.output.line(`image ${written.reference} (${formatBytes(layer.size)})`);
          },
          { json: Boolean(flags.json), debug: Boolean(flags.debug) },
        );
      },
    );
}

/** `shipml image copy`: any source to any sink (registry, layout, archive, engine), like crane copy. */
export function copyCommand(run: CommandRunner): Command {
  return new Command('copy')
    .description(
      'copy an image between registries, OCI layouts, docker archives and the Docker Engine (blobs the target has are skipped)',
    )
    .argument('<source>', 'registry reference or oci:DIR[:name]')
    .argument('<destination>', 'registry reference | oci:DIR[:name] | docker-archive:FILE | docker')
    .option(
      '-t, --tag <tag>',
      'tag to apply (repeatable; default: the destination or source tag)',
      collect,
      [],
    )
    .option('--registry-ca <file>', 'PEM CA certificate of the registries')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry')
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--debug', 'print stack traces of errors')
    .action(
      async (
        source: string,
        destination: string,
        flags: {
          tag: string[];
          registryCa?: string;
          insecure?: boolean;
          json?: boolean;
          debug?: boolean;
        },
      ) => {
        await run(
          async (ctx) => {
            const loaded = await loadCliConfig(ctx, {});
            const target = targetOptions(ctx, loaded, flags);
            const from = parseLocation(source);
            const to = parseLocation(destination);
            const image = await readImage(from, target);
            const ownTag = (l: ImageLocation) =>
              l.kind === 'registry' ? l.ref.tag : l.kind === 'oci' ? l.name : undefined;
            const tags = flags.tag.length ? flags.tag : [ownTag(to) ?? ownTag(from) ?? 'latest'];
            const written = await writeImage(image, to, tags, target);
            if (flags.json)
              return ctx.output.json({
                digest: image.digest,
                reference: written.reference,
                upload: written.push
                  ? { bytes: written.push.uploadedBytes, ...written.push.blobs }
                  : null,
              });
            ctx.output.line(`image ${written.reference}`);
          },
          { json: Boolean(flags.json), debug: Boolean(flags.debug) },
        );
      },
    );
}
