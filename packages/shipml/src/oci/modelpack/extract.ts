import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ConfigError, IntegrityError, ShipmlError } from '../../core/errors.js';
import { HashingStream } from '../../core/hash.js';
import { normaliseTarget } from './layer.js';
import type { ArtifactLayer, ModelArtifact } from './read.js';

export interface ExtractedFile {
  /** Path inside `dest`, `/`-separated. */
  path: string;
  size: number;
  sha256: string;
}

export interface ExtractResult {
  dest: string;
  /** Every file written, sorted by path: ready to become a model-store file list. */
  files: ExtractedFile[];
  /** Where the model's own files start inside `dest` (ShipML artifacts: `models/<name>`). */
  root: string;
}

/**
 * Writes an artifact's files into `dest` (absent or empty): raw layers as the file their
 * `org.cncf.model.filepath` (or title) names, tar layers unpacked (gzip too; zstd where this
 * Node has it). Every layer is verified by digest, compressed ones by DiffID as well, and
 * everything lands in a sibling `.partial` directory renamed to `dest` only at the end: a
 * tampered layer leaves nothing at `dest`. Only files and directories are accepted, at
 * relative paths inside `dest`.
 */
export async function extractModelArtifact(
  artifact: ModelArtifact,
  dest: string,
): Promise<ExtractResult> {
  const existing = await readdir(dest).catch(() => undefined);
  if (existing && existing.length > 0)
    throw new ConfigError(`${dest} is not empty; the model is extracted into a new directory`);
  const temp = join(
    dirname(dest),
    `.${basename(dest)}.shipml-partial-${process.pid}-${Date.now()}`,
  );
  const files = new Map<string, ExtractedFile>();
  try {
    await mkdir(temp, { recursive: true });
    for (const layer of artifact.layers) await extractLayer(artifact.pinned, layer, temp, files);
    if (existing) await rm(dest, { recursive: true });
    await rename(temp, dest);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  const root = artifact.shipml ? normaliseTarget(artifact.shipml.target).replace(/^\/+/, '') : '';
  return { dest, files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1)), root };
}

async function extractLayer(
  where: string,
  layer: ArtifactLayer,
  dir: string,
  files: Map<string, ExtractedFile>,
): Promise<void> {
  const what = `${where} layer ${layer.descriptor.digest}`;
  // Refusals that need no bytes come before the request: no name for a raw file, or a
  // packing this Node cannot unpack.
  if (layer.packing === 'raw') {
    if (!layer.path)
      throw new ConfigError(`${what}: a raw layer needs an org.cncf.model.filepath annotation`);
    const path = safePath(layer.path, what);
    await writeFile(await layer.open(), dir, path, files, what);
    return;
  }
  const unpack = layer.packing === 'tar' ? undefined : decompressor(layer.packing, what);
  // tar-stream loads only when a layer is unpacked: a build that mounts its model never does.
  const { extract } = await import('tar-stream');
  const body = await layer.open();
  const diff = new HashingStream();
  const tar = extract();
  const reading = (async () => {
    for await (const entry of tar) {
      const { type, name } = entry.header;
      if (type === 'directory') {
        await mkdir(join(dir, ...safePath(name, what).split('/')), { recursive: true });
        entry.resume();
      } else if (type === 'file' || type === 'contiguous-file') {
        await writeFile(entry, dir, safePath(name, what), files, what);
      } else {
        throw new ConfigError(
          `${what}: entry ${JSON.stringify(name)} is a ${type}; model layers may hold files and directories only`,
        );
      }
    }
  })();
  const unpacking = unpack ? pipeline(body, unpack, diff, tar) : pipeline(body, diff, tar);
  // The first failure is the error: the digest check at the end of `body`, a refused entry,
  // or the tar parser; either way the other side is stopped before we return.
  await Promise.all([unpacking, reading]).catch(async (err: unknown) => {
    body.destroy();
    await unpacking.catch(() => undefined);
    // A tampered tar header trips the tar parser before the digest check at the end.
    throw err instanceof ShipmlError
      ? err
      : new IntegrityError(`${what}: not a valid tar (${(err as Error).message}); refused`, {
          cause: err,
        });
  });
  const diffId = `sha256:${diff.digest()}`;
  if (diffId !== layer.diffId)
    throw new IntegrityError(
      `${what}: unpacked content has DiffID ${diffId}, the config says ${layer.diffId}; refused`,
    );
}

async function writeFile(
  source: AsyncIterable<unknown>,
  dir: string,
  path: string,
  files: Map<string, ExtractedFile>,
  what: string,
): Promise<void> {
  if (files.has(path)) throw new IntegrityError(`${what}: file ${path} appears twice`);
  const target = join(dir, ...path.split('/'));
  await mkdir(dirname(target), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  // A large buffer: tar chunks are small, and waiting on each drain is slow.
  const out = createWriteStream(target, { flags: 'wx', highWaterMark: 8 << 20 });
  try {
    for await (const chunk of source) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
  files.set(path, { path, size, sha256: hash.digest('hex') });
}

/** A layer's entry name as a relative path inside the model; refuses anything that escapes. */
function safePath(name: string, what: string): string {
  const clean = posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/+$/, '');
  if (
    !clean ||
    clean === '.' ||
    clean.startsWith('/') ||
    clean.split('/').includes('..') ||
    name.includes('\\') ||
    name.includes('\0')
  )
    throw new ConfigError(
      `${what}: path ${JSON.stringify(name)} is not a relative path inside the model`,
    );
  return clean;
}

function decompressor(packing: ArtifactLayer['packing'], what: string): Transform {
  if (packing === 'tar+gzip') return zlib.createGunzip();
  const make = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (!make)
    throw new ConfigError(`${what} is zstd-compressed, which needs Node 22.15 or later`, {
      hint: 'run shipml on a newer Node, or publish the model uncompressed (weight.v1.tar)',
    });
  return make();
}
