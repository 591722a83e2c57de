import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlib } from 'node:zlib';
import { HashingStream } from '../core/hash.js';
import type { BlobDir, LayerDescriptor } from './blobs.js';
import { MediaType } from './media-types.js';
import { writeTar, type TarEntry } from './tar.js';
import type { Layer } from './types.js';

export interface BuildLayerOptions {
  blobs: BlobDir;
  /** Every entry's mtime (reproducibility: SOURCE_DATE_EPOCH or the commit time). */
  mtime: Date;
  /**
   * gzip (app and dependency layers) or plain tar (model layers: weights barely compress,
   * and gzip costs ~24 s/GiB here against ~1 s to hash).
   */
  compress: boolean;
  /** gzip's level, 1 (fastest) to 9; default zlib's 6. The diffID does not depend on it. */
  gzipLevel?: number | undefined;
  annotations?: Record<string, string> | undefined;
}

/**
 * Builds a layer from tar entries in one pass: tar → sha256 (diffID) → gzip → sha256
 * (digest) → file in the blob directory. gzip is deterministic for a given zlib (Node's
 * writes mtime 0 and a fixed OS byte), so the same entries give the same digest.
 */
export async function buildLayer(
  entries: readonly TarEntry[],
  options: BuildLayerOptions,
): Promise<Layer & LayerDescriptor> {
  const temp = await options.blobs.tempPath();
  const diff = new HashingStream();
  const blob = new HashingStream();
  const tar = new PassThrough();
  try {
    const stages = options.compress
      ? pipeline(
          tar,
          diff,
          createGzip({ level: options.gzipLevel ?? zlib.Z_DEFAULT_COMPRESSION }),
          blob,
          createWriteStream(temp),
        )
      : pipeline(tar, diff, blob, createWriteStream(temp));
    stages.catch(() => undefined); // observed below
    await writeTar(entries, tar, options.mtime);
    await stages;
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const desc: LayerDescriptor = {
    digest: `sha256:${blob.digest()}`,
    diffId: `sha256:${diff.digest()}`,
    size: blob.bytesSeen,
    mediaType: options.compress ? MediaType.ociLayerGzip : MediaType.ociLayer,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  await options.blobs.commit(temp, desc.digest);
  return { ...desc, ...options.blobs.layer(desc) };
}
