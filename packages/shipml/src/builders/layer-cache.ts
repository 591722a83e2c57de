import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BlobDir, isLayerDescriptor, type LayerDescriptor } from '../oci/blobs.js';
import { buildLayer, type BuildLayerOptions } from '../oci/layer.js';
import type { TarEntry } from '../oci/tar.js';
import type { Layer } from '../oci/types.js';

/**
 * Builds a layer unless an identical one is cached: the key is every entry's path, type,
 * mode and stat stamp (mtime, inode, size), plus the layer options, so an untouched tree
 * costs a directory walk, not a read. The layer's digest itself only ever comes from content.
 */
export async function cachedLayer(
  kind: string,
  entries: readonly TarEntry[],
  options: BuildLayerOptions,
): Promise<{ layer: Layer; cached: boolean }> {
  const hash = createHash('sha256').update(
    `${kind}\n${options.mtime.getTime()}\n${options.compress}\n`,
  );
  for (const e of entries)
    hash.update(
      `${e.path}\0${e.type}\0${e.executable ? 'x' : ''}\0${e.linkname ?? ''}\0${e.stamp ?? ''}\n`,
    );
  const key = hash.digest('hex');
  const known = await options.blobs.readRecord<LayerDescriptor>(`${kind}-layers`, key);
  if (isLayerDescriptor(known) && (await options.blobs.has(known.digest, known.size))) {
    return {
      layer: options.blobs.layer({ ...known, annotations: options.annotations }),
      cached: true,
    };
  }
  const built = await buildLayer(entries, options);
  const desc: LayerDescriptor = {
    digest: built.digest,
    diffId: built.diffId,
    size: built.size,
    mediaType: built.mediaType,
  };
  await options.blobs.writeRecord(`${kind}-layers`, key, desc);
  return { layer: built, cached: false };
}

/** The local blob cache for image layers, under ShipML's cache directory. */
export function layerCache(cacheDir: string): BlobDir {
  return new BlobDir(join(cacheDir, 'oci'));
}
