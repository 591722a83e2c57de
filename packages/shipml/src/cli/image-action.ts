/** What the `shipml image` commands do (imported when one runs). */
import { resolve as resolvePath } from 'node:path';
import { addModel as addModelLayer } from '../builders/add-model.js';
import { layerCache } from '../builders/layer-cache.js';
import { modelInput } from '../builders/model-input.js';
import { ConfigError } from '../core/errors.js';
import { imageFromRootfs } from '../oci/import-rootfs.js';
import { parseLocation, readImage, type ImageLocation } from '../oci/locations.js';
import { cacheDirOf, registryAccess } from './access.js';
import { loadCliConfig, openRepository, type CliContext } from './context.js';
import type { AddModelFlags, CopyFlags, ImportFlags } from './image.js';
import type { RegistryFlags } from './options.js';
import { formatBytes, shortDigest } from './output.js';
import { uploadSummary, writeTo } from './write.js';

/** `image add-model`: the source image plus the model as a new top layer. */
export async function addModel(
  ctx: CliContext,
  flags: AddModelFlags,
  source: string,
  modelRef: string,
): Promise<void> {
  const { repo, loaded } = await openRepository(ctx, flags);
  const cacheDir = cacheDirOf(ctx, loaded);
  const target = registryAccess(ctx, loaded, flags);
  const from = parseLocation(source);
  const base = await readImage(from, target);
  const manifest = await repo.resolve(modelRef, ctx.signal);
  const model = modelInput(repo, manifest, cacheDir, flags.modelPath, ctx.signal);
  const { image, layer } = await addModelLayer(base, model, layerCache(cacheDir));
  const destination = flags.output ? parseLocation(flags.output) : from;
  const written = await writeTo(
    ctx,
    image,
    destination,
    tagsFor(flags.tag, destination, from),
    target,
  );
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

/** `image import`: a root filesystem directory as a one-layer image. */
export async function importRootfs(
  ctx: CliContext,
  flags: ImportFlags,
  rootfs: string,
): Promise<void> {
  const { loaded, target } = await nearestConfig(ctx, flags);
  const { image, layer } = await imageFromRootfs(resolvePath(ctx.cwd, rootfs), {
    blobs: layerCache(cacheDirOf(ctx, loaded)),
    exclude: flags.exclude,
    env: envFlags(flags.env),
    cmd: flags.cmd === undefined ? undefined : cmdFlag(flags.cmd),
    createdBy: `shipml image import ${rootfs}`,
    gzipLevel: flags.gzipLevel,
  });
  const destination = parseLocation(flags.output);
  const written = await writeTo(ctx, image, destination, tagsFor(flags.tag, destination), target);
  if (flags.json)
    return ctx.output.json({
      digest: image.digest,
      reference: written.reference,
      size: layer.size,
    });
  ctx.output.line(`image ${written.reference} (${formatBytes(layer.size)})`);
}

/** `image copy`: any source to any sink. */
export async function copy(
  ctx: CliContext,
  flags: CopyFlags,
  source: string,
  destination: string,
): Promise<void> {
  const { target } = await nearestConfig(ctx, flags);
  const from = parseLocation(source);
  const to = parseLocation(destination);
  const image = await readImage(from, target);
  const written = await writeTo(ctx, image, to, tagsFor(flags.tag, to, from), target);
  if (flags.json)
    return ctx.output.json({
      digest: image.digest,
      reference: written.reference,
      upload: uploadSummary(written),
    });
  ctx.output.line(`image ${written.reference}`);
}

/** import and copy take no -c: the nearest shipml.yaml, if any, for its registry and cache settings. */
async function nearestConfig(ctx: CliContext, flags: RegistryFlags) {
  const loaded = await loadCliConfig(ctx, {});
  return { loaded, target: registryAccess(ctx, loaded, flags) };
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

/** The tags asked for; else the first location's own tag (registry tag, layout name); else latest. */
function tagsFor(requested: readonly string[], ...locations: ImageLocation[]): string[] {
  if (requested.length > 0) return [...requested];
  for (const l of locations) {
    const own = l.kind === 'registry' ? l.ref.tag : l.kind === 'oci' ? l.name : undefined;
    if (own) return [own];
  }
  return ['latest'];
}
