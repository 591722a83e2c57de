import { resolve as resolvePath } from 'node:path';
import { Command } from 'commander';
import { addModel as addModelLayer } from '../builders/add-model.js';
import { layerCache } from '../builders/layer-cache.js';
import { modelInput } from '../builders/model-input.js';
import { ConfigError } from '../core/errors.js';
import { defaultCacheDir } from '../model-store/cache.js';
import { imageFromRootfs } from '../oci/import-rootfs.js';
import {
  parseLocation,
  readImage,
  movedTagNotes,
  writeImage,
  type ImageLocation,
  type WriteResult,
} from '../oci/locations.js';
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
  const { image, layer } = await addModelLayer(base, model, layerCache(cacheDir));
  const destination = flags.output ? parseLocation(flags.output) : from;
  const tags = tagsFor(flags.tag, destination, from);
  const written = await writeImage(image, destination, tags, target);
  for (const note of movedTagNotes(written, destination)) ctx.output.note(note);
  if (flags.json)
    return ctx.output.json({
      digest: image.digest,
      reference: written.reference,
      base: base.digest,
      model: { name: manifest.name, version: manifest.version, digest: manifest.digest },
      upload: uploadSummary(written),
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
    .action(async (rootfs: string, flags: ImportFlags) => {
      await run((ctx) => importRootfs(ctx, rootfs, flags), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    });
}

interface ImportFlags extends CommonFlags, RegistryFlags {
  output: string;
  tag: string[];
  env: string[];
  cmd?: string;
  exclude: string[];
}

async function importRootfs(ctx: CliContext, rootfs: string, flags: ImportFlags): Promise<void> {
  const loaded = await loadCliConfig(ctx, {});
  const target = registryAccess(ctx, loaded, flags);
  const cacheDir = loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const { image, layer } = await imageFromRootfs(resolvePath(ctx.cwd, rootfs), {
    blobs: layerCache(cacheDir),
    exclude: flags.exclude,
    env: envFlags(flags.env),
    cmd: flags.cmd === undefined ? undefined : cmdFlag(flags.cmd),
    createdBy: `shipml image import ${rootfs}`,
  });
  const destination = parseLocation(flags.output);
  const written = await writeImage(image, destination, tagsFor(flags.tag, destination), target);
  for (const note of movedTagNotes(written, destination)) ctx.output.note(note);
  if (flags.json)
    return ctx.output.json({
      digest: image.digest,
      reference: written.reference,
      size: layer.size,
    });
  ctx.output.line(`image ${written.reference} (${formatBytes(layer.size)})`);
}

/** `--env NAME=value` flags. */
function envFlags(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new ConfigError(`--env ${JSON.stringify(pair)}: expected NAME=value`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

/** `--cmd '["node", "main.js"]'`. */
function cmdFlag(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string'))
    throw new ConfigError(`--cmd must be a JSON array of strings, got ${json}`);
  return parsed;
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
            for (const note of movedTagNotes(written, to)) ctx.output.note(note);
            if (flags.json)
              return ctx.output.json({
                digest: image.digest,
                reference: written.reference,
                upload: uploadSummary(written),
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

/** What a push sent, for --json: bytes and blobs uploaded, already there, mounted. */
function uploadSummary(written: WriteResult) {
  return written.push ? { bytes: written.push.uploadedBytes, ...written.push.blobs } : null;
}
