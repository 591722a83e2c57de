import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { z } from 'zod';
import { IntegrityError } from '../../core/errors.js';
import { HashingStream } from '../../core/hash.js';
import { isLayerDescriptor, type BlobDir, type LayerDescriptor } from '../blobs.js';
import type { Digest } from '../digest.js';
import { OciImage } from '../image.js';
import { MediaType } from '../media-types.js';
import { ConfigFileSchema } from '../schema.js';
import type { Layer } from '../types.js';

const ArchiveManifestSchema = z
  .array(z.looseObject({ Config: z.string(), Layers: z.array(z.string()) }))
  .min(1);

/**
 * Reads a `docker save` stream into an image whose layers live in `blobs`, gzipped.
 * Docker saves layers uncompressed and in no fixed order (manifest.json often comes last),
 * so each layer is spooled to disk while its diffID is hashed; a layer already converted
 * before (same diffID) is not compressed again.
 */
export async function readDockerArchive(source: Readable, blobs: BlobDir): Promise<OciImage> {
  await mkdir(blobs.dir, { recursive: true });
  const spool = await mkdtemp(join(blobs.dir, 'import-'));
  try {
    const small = new Map<string, Buffer>();
    const spooled = new Map<string, { path: string; diffId: Digest }>();
    const tar = extract();
    const reading = (async () => {
      let n = 0;
      for await (const entry of tar) {
        const name = entry.header.name.replace(/^\.\//, '');
        if (entry.header.type !== 'file') {
          entry.resume();
          continue;
        }
        if (name.endsWith('.json') || name === 'repositories') {
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          small.set(name, Buffer.concat(chunks));
          continue;
        }
        const path = join(spool, String(n++));
        spooled.set(name, { path, diffId: await spoolEntry(entry, path) });
      }
    })();
    await Promise.all([pipeline(source, tar), reading]);

    const manifestBytes = small.get('manifest.json');
    if (!manifestBytes) throw new IntegrityError('docker archive has no manifest.json');
    const [entry] = ArchiveManifestSchema.parse(JSON.parse(manifestBytes.toString('utf8')));
    const rawConfig =
      small.get(entry!.Config) ??
      (spooled.get(entry!.Config)
        ? await readSpooled(spooled.get(entry!.Config)!.path)
        : undefined);
    if (!rawConfig) throw new IntegrityError(`docker archive: config ${entry!.Config} missing`);
    const config = ConfigFileSchema.parse(JSON.parse(rawConfig.toString('utf8')));
    const layers: Layer[] = [];
    for (const [i, layerPath] of entry!.Layers.entries()) {
      const file = spooled.get(layerPath);
      if (!file) throw new IntegrityError(`docker archive: layer ${layerPath} missing`);
      if (file.diffId !== config.rootfs.diff_ids[i])
        throw new IntegrityError(
          `docker archive: layer ${layerPath} has diffID ${file.diffId}, the config says ${config.rootfs.diff_ids[i]}`,
        );
      layers.push(await gzipLayer(file.path, file.diffId, blobs));
    }
    return OciImage.build(config, layers);
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

async function gzipLayer(path: string, diffId: Digest, blobs: BlobDir): Promise<Layer> {
  const known = await blobs.readRecord<LayerDescriptor>('imported-layers', diffId.slice(7));
  if (isLayerDescriptor(known) && (await blobs.has(known.digest, known.size)))
    return blobs.layer(known);
  const temp = await blobs.tempPath();
  const hashing = new HashingStream();
  await pipeline(createReadStream(path), createGzip(), hashing, createWriteStream(temp));
  const desc: LayerDescriptor = {
    digest: `sha256:${hashing.digest()}`,
    diffId,
    size: hashing.bytesSeen,
    mediaType: MediaType.ociLayerGzip,
  };
  await blobs.commit(temp, desc.digest);
  await blobs.writeRecord('imported-layers', diffId.slice(7), desc);
  return blobs.layer(desc);
}

/**
 * Writes a tar entry to `path`, hashing it (async iteration over tar-stream's streamx entries).
 */
async function spoolEntry(entry: AsyncIterable<unknown>, path: string): Promise<Digest> {
  const hash = createHash('sha256');
  // A large buffer: with the default 16 KiB, every small tar chunk waits for a drain (~3 MB/s).
  const out = createWriteStream(path, { highWaterMark: 8 << 20 });
  for await (const chunk of entry) {
    hash.update(chunk as Buffer);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return `sha256:${hash.digest('hex')}`;
}

async function readSpooled(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
