import { RegistryError } from '../../core/errors.js';
import type { Digest } from '../digest.js';
import type { Image, Layer } from '../types.js';
import type { RegistryClient } from './client.js';
import type { ImageReference } from './reference.js';

export interface PushProgress {
  /** A blob is checked, mounted, skipped or uploaded. */
  blob?(event: { digest: Digest; size: number; action: 'exists' | 'mounted' | 'uploaded' }): void;
  /** Bytes of a blob sent so far. */
  bytes?(digest: Digest, sent: number, total: number): void;
}

export interface PushResult {
  digest: Digest;
  /** Bytes actually sent (blobs the registry lacked). */
  uploadedBytes: number;
  blobs: { exists: number; mounted: number; uploaded: number };
  /**
   * Tags that pointed at another manifest before this push and now point at this one
   * (`latest` is expected to move and is not checked): a tag that moves is worth saying.
   */
  movedTags: Array<{ tag: string; previous: Digest }>;
  /** Mounts the registry declined or refused (the blob was uploaded instead), to be said. */
  mountFallbacks: string[];
}

/** A tag that is meant to move: its moves are not reported. */
const MOVING_TAGS: ReadonlySet<string> = new Set(['latest']);
/** HEADs in flight at once while finding which blobs a push must send. */
const CHECK_CONCURRENCY = 8;

/**
 * Pushes an image: every blob the registry lacks (HEAD first; a cross-repository mount
 * when the layer came from the same registry; else an upload), a few in parallel, then the
 * manifest under each tag LAST, so a failed push never leaves a tag pointing at missing blobs.
 * When every tag already names this manifest (nothing changed), nothing more is sent: the
 * registry took the manifest only once it held all of its blobs.
 */
export async function pushImage(
  client: RegistryClient,
  target: ImageReference,
  image: Image,
  options: {
    tags?: readonly string[];
    concurrency?: number;
    progress?: PushProgress;
    signal?: AbortSignal;
  } = {},
): Promise<PushResult> {
  const result: PushResult = {
    digest: image.digest,
    uploadedBytes: 0,
    blobs: { exists: 0, mounted: 0, uploaded: 0 },
    movedTags: [],
    mountFallbacks: [],
  };
  const { repository } = target;
  const configBlob: Layer = {
    digest: image.manifest.config.digest as Digest,
    diffId: image.manifest.config.digest as Digest,
    size: image.rawConfig.length,
    mediaType: image.manifest.config.mediaType,
    open: () => import('node:stream').then(({ Readable }) => Readable.from([image.rawConfig])),
  };
  const blobs = dedupe([...image.layers, configBlob]);
  const tags = options.tags?.length ? options.tags : [target.tag ?? image.digest];
  // Where each tag points now (one HEAD each, in parallel): to skip a push that changes
  // nothing, and to report a tag that moves.
  const previous = await Promise.all(
    tags.map((tag) => client.manifestDigest(repository, tag, options.signal)),
  );
  if (previous.every((digest) => digest === image.digest)) {
    for (const blob of blobs) {
      result.blobs.exists++;
      options.progress?.blob?.({ digest: blob.digest, size: blob.size, action: 'exists' });
    }
    return result;
  }

  // Which blobs the repository has: all asked at once (HEADs are cheap), so that a push of
  // one new layer waits one round trip for them, not one per `concurrency` blobs.
  const missing: Layer[] = [];
  await forEachLimit(blobs, CHECK_CONCURRENCY, async (blob) => {
    if ((await client.blobSize(repository, blob.digest, options.signal)) !== blob.size) {
      missing.push(blob);
      return;
    }
    result.blobs.exists++;
    options.progress?.blob?.({ digest: blob.digest, size: blob.size, action: 'exists' });
  });
  const pushBlob = async (blob: Layer): Promise<void> => {
    const from = blob.source;
    if (from && from.registry === client.registry && from.repository !== repository) {
      const what = `layer ${blob.digest.slice(0, 19)}: mount from ${from.registry}/${from.repository}`;
      try {
        if (await client.mountBlob(repository, blob.digest, from.repository, options.signal)) {
          result.blobs.mounted++;
          options.progress?.blob?.({ digest: blob.digest, size: blob.size, action: 'mounted' });
          return;
        }
        result.mountFallbacks.push(`${what} declined by the registry; uploaded instead`);
      } catch (err) {
        // A refused mount (no pull access to the source, say) is not a failed push.
        if (!(err instanceof RegistryError)) throw err;
        result.mountFallbacks.push(`${what} refused (${err.message}); uploaded instead`);
      }
    }
    await client.uploadBlob(
      repository,
      blob,
      () => blob.open(),
      (sent) => options.progress?.bytes?.(blob.digest, sent, blob.size),
      options.signal,
    );
    result.blobs.uploaded++;
    result.uploadedBytes += blob.size;
    options.progress?.blob?.({ digest: blob.digest, size: blob.size, action: 'uploaded' });
  };
  // In the image's order (the blobs' order, whatever order the HEADs answered in).
  missing.sort((a, b) => blobs.indexOf(a) - blobs.indexOf(b));
  await forEachLimit(missing, options.concurrency ?? 3, pushBlob);

  for (const [i, tag] of tags.entries()) {
    await client.putManifest(repository, tag, image.rawManifest, image.mediaType, options.signal);
    const before = previous[i];
    if (before && before !== image.digest && !MOVING_TAGS.has(tag))
      result.movedTags.push({ tag, previous: before });
  }
  return result;
}

function dedupe(layers: Layer[]): Layer[] {
  const seen = new Map<string, Layer>();
  for (const layer of layers) if (!seen.has(layer.digest)) seen.set(layer.digest, layer);
  return [...seen.values()];
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
