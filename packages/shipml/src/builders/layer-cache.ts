import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { BlobDir, isLayerDescriptor, type LayerDescriptor } from '../oci/blobs.js';
import { buildLayer, type BuildLayerOptions } from '../oci/layer.js';
import type { TarEntry } from '../oci/tar.js';
import type { Layer } from '../oci/types.js';

/**
 * Builds a layer unless an identical one is cached. Two keys, cheapest first:
 * - the stat key: every entry's path, type, mode and stat stamp (mtime, inode, size), plus
 *   the layer options, so an untouched tree costs a directory walk, not a read;
 * - the content key: the same with each file's sha256 instead of its stamp, so a fresh
 *   checkout or a fresh `npm ci` (new inodes and times, the same bytes — every run of
 *   `shipml server`) costs one read of the files, not a tar and a compression.
 * The layer's digest itself only ever comes from content.
 */
export async function cachedLayer(
  kind: string,
  entries: readonly TarEntry[],
  options: BuildLayerOptions,
): Promise<{ layer: Layer; cached: boolean }> {
  const table = `${kind}-layers`;
  const header = `${kind}\n${options.mtime.getTime()}\n${options.compress}\n`;
  const statKey = keyOf(header, entries, (e) => e.stamp ?? '');
  const byStat = await known(options, table, statKey);
  if (byStat) return { layer: byStat.layer, cached: true };
  // Only worth reading the files when every one of them can be read again (no streams).
  const contentKey = entries.every((e) => e.type !== 'file' || e.source)
    ? keyOf(`content\n${header}`, entries, await contentHashes(entries))
    : undefined;
  const byContent = contentKey && (await known(options, table, contentKey));
  if (byContent) {
    await options.blobs.writeRecord(table, statKey, byContent.desc);
    return { layer: byContent.layer, cached: true };
  }
  const built = await buildLayer(entries, options);
  const desc: LayerDescriptor = {
    digest: built.digest,
    diffId: built.diffId,
    size: built.size,
    mediaType: built.mediaType,
  };
  await options.blobs.writeRecord(table, statKey, desc);
  if (contentKey) await options.blobs.writeRecord(table, contentKey, desc);
  return { layer: built, cached: false };
}

function keyOf(
  header: string,
  entries: readonly TarEntry[],
  stamp: (e: TarEntry) => string,
): string {
  const hash = createHash('sha256').update(header);
  for (const e of entries)
    hash.update(
      `${e.path}\0${e.type}\0${e.executable ? 'x' : ''}\0${e.linkname ?? ''}\0${stamp(e)}\n`,
    );
  return hash.digest('hex');
}

async function known(
  options: BuildLayerOptions,
  table: string,
  key: string,
): Promise<{ layer: Layer; desc: LayerDescriptor } | undefined> {
  const desc = await options.blobs.readRecord<LayerDescriptor>(table, key);
  if (!isLayerDescriptor(desc) || !(await options.blobs.has(desc.digest, desc.size)))
    return undefined;
  return { layer: options.blobs.layer({ ...desc, annotations: options.annotations }), desc };
}

/** Each file's sha256 (a few files at a time), for the content key. */
async function contentHashes(entries: readonly TarEntry[]): Promise<(e: TarEntry) => string> {
  const hashes = new Map<TarEntry, string>();
  const files = entries.filter((e) => e.type === 'file');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const e = files[next++]!;
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(e.source!)) hash.update(chunk as Buffer);
      hashes.set(e, hash.digest('hex'));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return (e) => hashes.get(e) ?? '';
}

/** The local blob cache for image layers, under ShipML's cache directory. */
export function layerCache(cacheDir: string): BlobDir {
  return new BlobDir(join(cacheDir, 'oci'));
}
