import { resolve as resolvePath } from 'node:path';
import { Command } from 'commander';
import { FIXED_LAYER_TIME, modelLayer } from '../builders/model-layer.js';
import { layerCache, modelInput } from '../builders/project.js';
import { provenance, provenanceEnv } from '../builders/provenance.js';
import { ConfigError } from '../core/errors.js';
import { defaultCacheDir } from '../model-store/cache.js';
import { OciImage } from '../oci/image.js';
import { buildLayer } from '../oci/layer.js';
import { appendLayers, withAnnotations, withConfig } from '../oci/mutate.js';
import { collectEntries } from '../oci/tar.js';
import { parseLocation, readImage, writeImage, type ImageLocation } from '../oci/locations.js';
import {
  loadCliConfig,
  openRepository,
  registryAccess,
  type CliContext,
  type CommandRunner,
} from './context.js';
import {
  collect,
  commonOptions,
  registryOptions,
  type CommonFlags,
  type RegistryFlags,
} from './options.js';
import { formatBytes, shortDigest } from './output.js';

interface AddModelFlags extends CommonFlags, RegistryFlags {
  config?: string;
  store?: string;
  output?: string;
  tag: string[];
  modelPath?: string;
}

/** `shipml image ...`: operations on built images. */
export function imageCommand(run: CommandRunner): Command {
  const image = new Command('image').description(
    'operate on images: inject a new model without rebuilding',
  );
  registryOptions(commonOptions(image.command('add-model')))
    .description(
      'the image plus a model layer (the model replaces nothing: it is a new top layer), pushed or exported',
    )
    .argument('<image>', 'source image: registry reference or oci:DIR[:name]')
    .argument('<model-ref>', 'model: name@version or name:channel')
    .option('-o, --output <where>', 'destination (default: the source repository)')
    .option('-t, --tag <tag>', 'tag to apply (repeatable; default: the source tag)', collect, [])
    .option('--model-path <path>', 'where the model lands (default /models/<name>)')
    .option('--store <url>', 'model store URL')
    .option('-c, --config <file>', 'shipml.yaml to use')
    .action(async (source: string, modelRef: string, flags: AddModelFlags) => {
      await run((ctx) => addModel(ctx, source, modelRef, flags), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    });
  image.addCommand(importCommand(run));
  image.addCommand(copyCommand(run));
  return image;
}

async function addModel(
  ctx: CliContext,
  source: string,
  modelRef: string,
  flags: AddModelFlags,
): Promise<void> {
  const { repo, loaded } = await openRepository(ctx, flags);
  const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const target = registryAccess(ctx, loaded, flags);
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
  const tags = tagsFor(flags.tag, destination, from);
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
  return registryOptions(commonOptions(new Command('import')))
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
    .action(
      async (
        rootfs: string,
        flags: {
          output: string;
          tag: string[];
          env: string[];
          cmd?: string;
          exclude: string[];
        } & CommonFlags &
          RegistryFlags,
      ) => {
        await run(
          async (ctx) => {
            const loaded = await loadCliConfig(ctx, {});
            const target = registryAccess(ctx, loaded, flags);
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
            const tags = tagsFor(flags.tag, destination);
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
  return registryOptions(commonOptions(new Command('copy')))
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
    .action(
      async (
        source: string,
        destination: string,
        flags: {
          tag: string[];
        } & CommonFlags &
          RegistryFlags,
      ) => {
        await run(
          async (ctx) => {
            const loaded = await loadCliConfig(ctx, {});
            const target = registryAccess(ctx, loaded, flags);
            const from = parseLocation(source);
            const to = parseLocation(destination);
            const image = await readImage(from, target);
            const tags = tagsFor(flags.tag, to, from);
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

/** The tags asked for; else the first location's own tag (registry tag, layout name); else latest. */
function tagsFor(requested: readonly string[], ...locations: ImageLocation[]): string[] {
  if (requested.length > 0) return [...requested];
  for (const l of locations) {
    const own = l.kind === 'registry' ? l.ref.tag : l.kind === 'oci' ? l.name : undefined;
    if (own) return [own];
  }
  return ['latest'];
}
