import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { hexOf, type Digest } from '../digest.js';
import type { Image } from '../types.js';

/**
 * Writes an image as a `docker load` tarball: `manifest.json` naming the config and layer
 * blobs (stored under `blobs/sha256/`, as Docker 25 writes them; Docker 20.10 reads any
 * paths) plus the tags to apply. Layers stay as they are (gzip or plain): Docker detects
 * compression when it loads.
 */
export async function writeDockerArchive(
  image: Image,
  out: Writable,
  tags: readonly string[],
): Promise<void> {
  const tar = pack();
  const writing = pipeline(tar, out);
  writing.catch(() => undefined); // observed below
  const mtime = new Date(0);
  const blobPath = (digest: Digest) => `blobs/sha256/${hexOf(digest)}`;
  const configDigest = image.manifest.config.digest as Digest;
  const manifest = [
    {
      Config: blobPath(configDigest),
      RepoTags: [...tags],
      Layers: image.layers.map((l) => blobPath(l.digest)),
    },
  ];
  try {
    tar.entry({ name: 'manifest.json', mtime }, Buffer.from(JSON.stringify(manifest)));
    tar.entry({ name: blobPath(configDigest), mtime }, image.rawConfig);
    const written = new Set<string>();
    for (const layer of image.layers) {
      if (written.has(layer.digest)) continue;
      written.add(layer.digest);
      await pipeline(
        await layer.open(),
        tar.entry({ name: blobPath(layer.digest), size: layer.size, mtime }),
      );
    }
    tar.finalize();
  } catch (err) {
    tar.destroy(err as Error);
    throw err;
  }
  await writing;
}
