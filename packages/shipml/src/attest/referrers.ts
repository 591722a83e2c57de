/**
 * OCI 1.1 referrers, written and read both ways (image-spec v1.1.0 manifest.md `subject`;
 * distribution-spec v1.1.0 "Listing Referrers" and "Referrers Tag Schema"):
 *
 * - a manifest carrying `subject` is pushed; a registry with the referrers API answers with
 *   the `OCI-Subject` header and indexes it itself;
 * - without that header the client must check whether the API exists (GET .../referrers/<d>;
 *   404 means no API — CNCF distribution 2.8 here) and then maintain the fallback index itself:
 *   an image index tagged `sha256-<hex>` in the subject's repository listing every referrer.
 *   (crane's registry has the API but sends no `OCI-Subject`: hence the check, not the header.)
 *
 * Reading asks the API first and falls back to the tag, so either kind of registry, and
 * referrers written by either kind of client (oras, cosign's OCI 1.1 mode, ShipML), are found.
 * The fallback index is read-modify-write; two writers racing could drop an entry (the spec
 * offers no lock): the sign stage is the only writer of a run's image.
 */
import { z } from 'zod';
import { digestOf, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { RegistryClient } from '../oci/remote/client.js';
import { ensureBlob, findManifest, OCI_EMPTY, putManifest, referrersApi } from './registry.js';

/** One entry of a referrers index: the descriptor of a manifest whose subject is the image. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string | undefined;
  annotations?: Record<string, string> | undefined;
}

/** The image a referrer points at (its manifest descriptor). */
export interface Subject {
  mediaType: string;
  digest: Digest;
  size: number;
}

/** How a referrer became discoverable: the registry's API, or the fallback tag we updated. */
export type ReferrerMode = 'referrers-api' | 'referrers-tag';

const IndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(
    z.object({
      mediaType: z.string(),
      digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
      size: z.number().int().nonnegative(),
      artifactType: z.string().optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

/** The fallback tag for a subject digest: `<alg>-<hex>` (distribution-spec, Referrers Tag Schema). */
export function referrersTag(subject: Digest): string {
  return subject.replace(':', '-');
}

/**
 * Pushes an artifact manifest with `subject` (empty config, the given blobs as layers) and
 * makes it discoverable. Returns the manifest digest and how it was indexed.
 */
export async function attachArtifact(
  client: RegistryClient,
  repository: string,
  subject: Subject,
  artifact: {
    artifactType: string;
    layers: Array<{ mediaType: string; bytes: Buffer; annotations?: Record<string, string> }>;
    annotations?: Record<string, string>;
  },
  signal?: AbortSignal,
): Promise<{ digest: Digest; size: number; mode: ReferrerMode }> {
  await ensureBlob(client, repository, Buffer.from('{}'), signal);
  const layers = [];
  for (const layer of artifact.layers) {
    const blob = await ensureBlob(client, repository, layer.bytes, signal);
    layers.push({ mediaType: layer.mediaType, ...blob, annotations: layer.annotations });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: artifact.artifactType,
    config: OCI_EMPTY,
    layers,
    subject,
    annotations: artifact.annotations,
  };
  return pushReferrer(client, repository, Buffer.from(JSON.stringify(manifest)), undefined, signal);
}

/**
 * PUTs a manifest that has a `subject` (by digest, or under `tag`) and records it as a
 * referrer: nothing more when the registry indexes it, else in the fallback tag's index.
 */
export async function pushReferrer(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  tag: string | undefined,
  signal?: AbortSignal,
): Promise<{ digest: Digest; size: number; mode: ReferrerMode }> {
  const manifest = JSON.parse(bytes.toString('utf8')) as {
    artifactType?: string;
    config: { mediaType: string };
    subject: Subject;
    annotations?: Record<string, string>;
  };
  const { digest, subjectProcessed } = await putManifest(
    client,
    repository,
    tag ?? digestOf(bytes),
    bytes,
    MediaType.ociManifest,
    signal,
  );
  const entry: ReferrerDescriptor = {
    mediaType: MediaType.ociManifest,
    digest,
    size: bytes.length,
    // The spec: artifactType, else the config's media type.
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
    annotations: manifest.annotations,
  };
  if (subjectProcessed) return { digest, size: bytes.length, mode: 'referrers-api' };
  const listed = await referrersApi(client, repository, manifest.subject.digest, signal);
  if (listed && parseIndex(listed).some((m) => m.digest === digest))
    return { digest, size: bytes.length, mode: 'referrers-api' };
  await addToFallbackIndex(client, repository, manifest.subject.digest, entry, signal);
  return { digest, size: bytes.length, mode: 'referrers-tag' };
}

/**
 * The referrers of `subject`: from the API where the registry has one, and from the fallback
 * tag (merged, by digest), optionally only those of `artifactType`.
 */
export async function listReferrers(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  options: { artifactType?: string; signal?: AbortSignal } = {},
): Promise<ReferrerDescriptor[]> {
  const found = new Map<string, ReferrerDescriptor>();
  const api = await referrersApi(client, repository, subject, options.signal);
  for (const m of api ? parseIndex(api) : []) found.set(m.digest, m);
  const fallback = await findManifest(client, repository, referrersTag(subject), options.signal);
  for (const m of fallback ? parseIndex(fallback.bytes) : [])
    if (!found.has(m.digest)) found.set(m.digest, m);
  const all: ReferrerDescriptor[] = [];
  for (const m of found.values())
    all.push(await withTrueArtifactType(client, repository, m, options.signal));
  return options.artifactType ? all.filter((m) => m.artifactType === options.artifactType) : all;
}

/** Config types that say nothing about the artifact: a registry reporting one may have ignored `artifactType`. */
const VAGUE_TYPES: ReadonlySet<string | undefined> = new Set([
  undefined,
  OCI_EMPTY.mediaType,
  MediaType.ociConfig,
]);

/**
 * go-containerregistry's registry (v0.22) lists `config.mediaType` as every referrer's
 * artifactType, ignoring the manifest's own `artifactType` (the spec wants that first). When
 * the listed type is one that names nothing, the manifest itself is asked.
 */
async function withTrueArtifactType(
  client: RegistryClient,
  repository: string,
  entry: ReferrerDescriptor,
  signal?: AbortSignal,
): Promise<ReferrerDescriptor> {
  if (!VAGUE_TYPES.has(entry.artifactType)) return entry;
  const manifest = await findManifest(client, repository, entry.digest, signal);
  const declared = manifest
    ? (JSON.parse(manifest.bytes.toString('utf8')) as { artifactType?: string }).artifactType
    : undefined;
  return declared ? { ...entry, artifactType: declared } : entry;
}

async function addToFallbackIndex(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  entry: ReferrerDescriptor,
  signal?: AbortSignal,
): Promise<void> {
  const tag = referrersTag(subject);
  const existing = await findManifest(client, repository, tag, signal);
  const manifests = existing ? parseIndex(existing.bytes) : [];
  if (manifests.some((m) => m.digest === entry.digest)) return;
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...manifests, entry],
  };
  await putManifest(
    client,
    repository,
    tag,
    Buffer.from(JSON.stringify(index)),
    MediaType.ociIndex,
    signal,
  );
}

function parseIndex(bytes: Buffer): ReferrerDescriptor[] {
  const parsed = IndexSchema.safeParse(JSON.parse(bytes.toString('utf8')) as unknown);
  return parsed.success ? (parsed.data.manifests as ReferrerDescriptor[]) : [];
}
