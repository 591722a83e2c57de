import { pipeline, type Readable } from 'node:stream';
import { IntegrityError, NotFoundError } from '../../core/errors.js';
import { VerifyingStream } from '../../core/hash.js';
import { hexOf, type Digest } from '../digest.js';
import { OciImage } from '../image.js';
import { isIndexType } from '../media-types.js';
import { IndexSchema, ManifestSchema, type Platform } from '../schema.js';
import type { Layer } from '../types.js';
import type { RegistryClient } from './client.js';
import { formatReference, type ImageReference } from './reference.js';

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/**
 * Reads an image from a registry: the manifest (choosing `platform` from a multi-platform
 * index), the config, and lazy layers whose bytes are fetched (and verified) only when
 * opened. Docker v2 manifests are accepted.
 */
export async function pullImage(
  client: RegistryClient,
  ref: ImageReference,
  options: { platform?: Platform; signal?: AbortSignal } = {},
): Promise<OciImage> {
  const platform = options.platform ?? DEFAULT_PLATFORM;
  let fetched = await client.getManifest(
    ref.repository,
    ref.digest ?? ref.tag ?? 'latest',
    options.signal,
  );
  if (isIndexType(fetched.mediaType)) {
    const index = IndexSchema.parse(JSON.parse(fetched.bytes.toString('utf8')));
    const match = index.manifests.find(
      (m) =>
        m.platform?.os === platform.os &&
        m.platform.architecture === platform.architecture &&
        (!platform.variant || m.platform.variant === platform.variant),
    );
    if (!match) {
      const have = index.manifests
        .map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : '?'))
        .join(', ');
      throw new NotFoundError(
        `image ${formatReference(ref)} has no ${platform.os}/${platform.architecture} variant (it has: ${have})`,
      );
    }
    fetched = await client.getManifest(ref.repository, match.digest, options.signal);
  }
  const manifest = ManifestSchema.parse(JSON.parse(fetched.bytes.toString('utf8')));
  const rawConfig = await client.getBlobBytes(
    ref.repository,
    manifest.config.digest as Digest,
    options.signal,
  );
  const config = JSON.parse(rawConfig.toString('utf8')) as { rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw new IntegrityError(
      `image ${formatReference(ref)}: config lists ${diffIds.length} layers, manifest ${manifest.layers.length}`,
    );
  const layers: Layer[] = manifest.layers.map((desc, i) => ({
    digest: desc.digest as Digest,
    diffId: diffIds[i] as Digest,
    size: desc.size,
    mediaType: desc.mediaType,
    annotations: desc.annotations,
    source: { registry: client.registry, repository: ref.repository },
    open: async () =>
      verified(
        await client.getBlob(ref.repository, desc.digest as Digest, options.signal),
        desc.digest as Digest,
        desc.size,
      ),
  }));
  return OciImage.fromManifest(
    fetched.bytes,
    { ...manifest, mediaType: manifest.mediaType ?? fetched.mediaType },
    rawConfig,
    layers,
  );
}

/** Passes bytes through and fails at the end if they were not `digest`. */
function verified(source: Readable, digest: Digest, size: number): Readable {
  const check = new VerifyingStream(
    { size, sha256: hexOf(digest) },
    (actual) =>
      new IntegrityError(
        `blob ${digest}: received ${actual.size} bytes with digest sha256:${actual.sha256}`,
      ),
  );
  return pipeline(source, check, () => undefined);
}
