/**
 * The few distribution-spec requests attestation needs beyond src/oci's RegistryClient: a GET
 * that may find nothing (a tag that does not exist yet is normal here), a manifest PUT that
 * returns the `OCI-Subject` header, and the referrers endpoint
 * (https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#listing-referrers).
 * They go through the same transport (auth, retries, error decoding) as every other request.
 */
import { Readable } from 'node:stream';
import { RegistryError } from '../core/errors.js';
import { digestOf, type Digest } from '../oci/digest.js';
import { INDEX_TYPES, MANIFEST_TYPES, MediaType } from '../oci/media-types.js';
import type { RegistryClient } from '../oci/remote/client.js';
import { header } from '../oci/remote/transport/index.js';

/** OCI 1.1 additions (image-spec v1.1.0 manifest.md, descriptor.md). */
export const OCI_EMPTY = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  /** The digest of `{}`, the empty JSON blob every artifact without a config points at. */
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' as Digest,
  size: 2,
} as const;

const ACCEPT = [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ');

/** A manifest by tag or digest, or undefined when the registry has none (404). */
export async function findManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<{ bytes: Buffer; digest: Digest } | undefined> {
  const res = await client.transport.send({
    method: 'GET',
    path: `/v2/${repository}/manifests/${reference}`,
    headers: { accept: ACCEPT },
    scopes: [`repository:${repository}:pull`],
    expect: [200, 404],
    signal,
  });
  if (res.status === 404) {
    await res.body.dump();
    return undefined;
  }
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const digest = digestOf(bytes);
  if (reference.startsWith('sha256:') && digest !== reference)
    throw new RegistryError(
      `registry ${client.registry}: manifest ${reference} of ${repository} does not match its digest`,
      { retryable: false },
    );
  return { bytes, digest };
}

/** PUT a manifest; `subjectProcessed` is true when the registry answered with `OCI-Subject`. */
export async function putManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
  signal?: AbortSignal,
): Promise<{ digest: Digest; subjectProcessed: boolean }> {
  const res = await client.transport.send({
    method: 'PUT',
    path: `/v2/${repository}/manifests/${reference}`,
    headers: { 'content-type': mediaType },
    body: () => Promise.resolve(bytes),
    scopes: [`repository:${repository}:pull,push`],
    expect: [201],
    signal,
  });
  await res.body.dump();
  return { digest: digestOf(bytes), subjectProcessed: Boolean(header(res.headers, 'oci-subject')) };
}

/**
 * GET /v2/<name>/referrers/<digest>: the index the registry keeps, or undefined when it has no
 * referrers API (the spec: such a registry answers 404; one that has it never does).
 */
export async function referrersApi(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  signal?: AbortSignal,
): Promise<Buffer | undefined> {
  const res = await client.transport.send({
    method: 'GET',
    path: `/v2/${repository}/referrers/${subject}`,
    headers: { accept: MediaType.ociIndex },
    scopes: [`repository:${repository}:pull`],
    // distribution 2.8 routes nothing there: 404, sometimes 405 on older builds.
    expect: [200, 404, 405],
    signal,
  });
  if (res.status !== 200) {
    await res.body.dump();
    return undefined;
  }
  return Buffer.from(await res.body.arrayBuffer());
}

/** Uploads a small blob (an SBOM, an envelope, `{}`) unless the registry has it. */
export async function ensureBlob(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  signal?: AbortSignal,
): Promise<{ digest: Digest; size: number }> {
  const blob = { digest: digestOf(bytes), size: bytes.length };
  if ((await client.blobSize(repository, blob.digest, signal)) === blob.size) return blob;
  await client.uploadBlob(
    repository,
    blob,
    () => Promise.resolve(Readable.from([bytes])),
    undefined,
    signal,
  );
  return blob;
}
