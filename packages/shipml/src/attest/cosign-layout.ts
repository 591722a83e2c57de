/**
 * cosign's "signature image" layout (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md):
 * the signatures of `repo@sha256:<hex>` live in an OCI image tagged `sha256-<hex>.sig` in the
 * same repository, one layer per signature (the signed payload as the blob, the base64
 * signature in the layer's `dev.cosignproject.cosign/signature` annotation); attestations
 * likewise under `sha256-<hex>.att`, one DSSE envelope per layer. New signatures are appended
 * to what is there (several signers of one image), equal ones are not added twice.
 *
 * The config is what go-containerregistry's `mutate.Append` on an empty image gives (cosign
 * builds these images that way): rootfs.diff_ids = the layer digests (they are uncompressed).
 */
import { z } from 'zod';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { RegistryClient } from '../oci/remote/client.js';
import { pushReferrer, type ReferrerMode, type Subject } from './referrers.js';
import { ensureBlob, findManifest, putManifest } from './registry.js';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** One layer of a signature image, with its bytes. */
export interface CosignLayer {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations: Record<string, string>;
  bytes: Buffer;
}

const LayersSchema = z.object({
  layers: z.array(
    z.object({
      mediaType: z.string(),
      digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
      size: z.number().int().nonnegative(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

/** `sha256-<hex>.sig` / `.att`: where cosign looks for an image's signatures / attestations. */
export function cosignTag(image: Digest, suffix: 'sig' | 'att'): string {
  return `${image.replace(':', '-')}.${suffix}`;
}

/** Every layer of the signature image at `tag` with its (digest-checked) bytes; [] when none. */
export async function readCosignLayers(
  client: RegistryClient,
  repository: string,
  tag: string,
  signal?: AbortSignal,
): Promise<CosignLayer[]> {
  const found = await findManifest(client, repository, tag, signal);
  if (!found) return [];
  const manifest = LayersSchema.parse(JSON.parse(found.bytes.toString('utf8')) as unknown);
  const out: CosignLayer[] = [];
  for (const layer of manifest.layers) {
    const digest = layer.digest as Digest;
    const bytes = await client.getBlobBytes(repository, digest, signal);
    out.push({ ...layer, digest, annotations: layer.annotations ?? {}, bytes });
  }
  return out;
}

/**
 * Appends `layer` to the signature image at `tag` (creating it), then writes the manifest.
 * With `subject`, the manifest also carries OCI 1.1 `subject` + `artifactType` (ignored by
 * cosign's reader, which only walks layers) so `oras discover` lists it as a referrer.
 */
export async function appendCosignLayer(
  client: RegistryClient,
  repository: string,
  tag: string,
  layer: { mediaType: string; bytes: Buffer; annotations: Record<string, string> },
  options: { subject?: Subject; artifactType?: string; signal?: AbortSignal } = {},
): Promise<{ digest: Digest; mode: ReferrerMode | 'tag-only'; added: boolean }> {
  const { signal } = options;
  const existing = await findManifest(client, repository, tag, signal);
  const layers = existing
    ? LayersSchema.parse(JSON.parse(existing.bytes.toString('utf8')) as unknown).layers
    : [];
  const blob = await ensureBlob(client, repository, layer.bytes, signal);
  const same = layers.some(
    (l) =>
      l.digest === blob.digest &&
      JSON.stringify(l.annotations ?? {}) === JSON.stringify(layer.annotations),
  );
  if (same && existing) return { digest: existing.digest, mode: 'tag-only', added: false };
  const all = [...layers, { mediaType: layer.mediaType, ...blob, annotations: layer.annotations }];
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: all.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: all.map((l) => l.digest) },
      config: {},
    }),
  );
  const configBlob = await ensureBlob(client, repository, config, signal);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    ...(options.subject && options.artifactType ? { artifactType: options.artifactType } : {}),
    config: { mediaType: MediaType.ociConfig, ...configBlob },
    layers: all,
    ...(options.subject ? { subject: options.subject } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  if (options.subject) {
    const pushed = await pushReferrer(client, repository, bytes, tag, signal);
    return { digest: pushed.digest, mode: pushed.mode, added: true };
  }
  const put = await putManifest(client, repository, tag, bytes, MediaType.ociManifest, signal);
  return { digest: put.digest, mode: 'tag-only', added: true };
}
