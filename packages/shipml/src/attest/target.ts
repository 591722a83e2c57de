import { NotFoundError } from '../core/errors.js';
import { MediaType } from '../oci/media-types.js';
import { RegistryClient } from '../oci/remote/client.js';
import { formatReference, type ImageReference } from '../oci/remote/reference.js';
import type { RegistryAccess } from '../oci/locations.js';
import type { Subject } from './referrers.js';
import { findManifest } from './registry.js';

/** An image in a registry, pinned: what signatures and attestations are about. */
export interface AttestTarget {
  client: RegistryClient;
  /** The reference with its digest set. */
  ref: ImageReference & { digest: Subject['digest'] };
  /** The image manifest's descriptor (OCI 1.1 `subject` of every attachment). */
  subject: Subject;
  /** The manifest's bytes (for labels, layers). */
  manifest: Buffer;
  /** `registry/repository`: the docker-reference cosign signs (no tag, no digest). */
  repositoryName: string;
}

/** Resolves `ref` (by tag or digest) to its manifest, so everything after is by digest. */
export async function resolveTarget(
  ref: ImageReference,
  access: RegistryAccess,
  client = new RegistryClient(ref.registry, access),
): Promise<AttestTarget> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const found = await findManifest(client, ref.repository, reference, access.signal);
  if (!found) throw new NotFoundError(`image ${formatReference(ref)} not found in the registry`);
  const mediaType =
    (JSON.parse(found.bytes.toString('utf8')) as { mediaType?: string }).mediaType ??
    MediaType.ociManifest;
  return {
    client,
    ref: { ...ref, digest: found.digest },
    subject: { mediaType, digest: found.digest, size: found.bytes.length },
    manifest: found.bytes,
    repositoryName: `${ref.registry}/${ref.repository}`,
  };
}

/** `registry/repository@sha256:…`, for messages. */
export function pinnedName(target: AttestTarget): string {
  return `${target.repositoryName}@${target.ref.digest}`;
}
