/**
 * Signed attestations (SBOM, provenance) attached to an image two ways at once, each for the
 * reader that expects it:
 * - cosign's layout: one DSSE layer per attestation in the `sha256-<hex>.att` image, with the
 *   `predicateType` annotation cosign sets — what `cosign verify-attestation --key` reads;
 * - one OCI 1.1 referrer artifact per attestation (`subject` = the image, `artifactType` by
 *   kind, the same envelope blob as its layer — stored once), which `oras discover` lists and
 *   which registries with the referrers API index themselves.
 * Reading takes both, so attestations cosign made (only in `.att`) are found too.
 */
import { digestOf, type Digest } from '../oci/digest.js';
import {
  appendCosignLayer,
  cosignTag,
  readCosignLayers,
  SIGNATURE_ANNOTATION,
} from './cosign-layout.js';
import { DSSE_MEDIA_TYPE, signStatement, type Statement } from './dsse.js';
import type { SigningKey } from './keys.js';
import { attachArtifact, listReferrers, type ReferrerMode } from './referrers.js';
import { findManifest } from './registry.js';
import type { AttestTarget } from './target.js';

export const PREDICATE = {
  sbom: 'https://cyclonedx.org/bom',
  provenance: 'https://slsa.dev/provenance/v1',
} as const;

/** The referrer artifactType of each kind (the SBOM's is CycloneDX's registered JSON type). */
export const ARTIFACT_TYPE = {
  sbom: 'application/vnd.cyclonedx+json',
  provenance: 'application/vnd.in-toto+json',
} as const;

export type AttestationKind = keyof typeof PREDICATE;

/** What was attached for one statement: the run report records these digests. */
export interface Attachment {
  kind: AttestationKind;
  predicateType: string;
  /** The DSSE envelope blob (the same in `.att` and in the referrer). */
  envelope: Digest;
  /** The referrer manifest listing it for OCI 1.1 readers. */
  referrer: Digest;
  /** How the referrer is discoverable on this registry. */
  mode: ReferrerMode;
  /** The `.att` image manifest after appending it. */
  attestationManifest: Digest;
}

/**
 * Signs each statement with `key` (DSSE) and attaches it to the image both ways.
 * The pipeline's sign stage calls this after `signImage`, with the SBOM and the provenance.
 */
export async function attachAttestations(
  target: AttestTarget,
  key: SigningKey,
  statements: ReadonlyArray<{ kind: AttestationKind; statement: Statement }>,
  signal?: AbortSignal,
): Promise<Attachment[]> {
  const out: Attachment[] = [];
  const repo = target.ref.repository;
  for (const { kind, statement } of statements) {
    const envelope = signStatement(statement, key);
    const annotations = { [SIGNATURE_ANNOTATION]: '', predicateType: statement.predicateType };
    const att = await appendCosignLayer(
      target.client,
      repo,
      cosignTag(target.ref.digest, 'att'),
      {
        mediaType: DSSE_MEDIA_TYPE,
        bytes: envelope,
        annotations,
      },
      { signal },
    );
    const referrer = await attachArtifact(
      target.client,
      repo,
      target.subject,
      {
        artifactType: ARTIFACT_TYPE[kind],
        layers: [
          {
            mediaType: DSSE_MEDIA_TYPE,
            bytes: envelope,
            annotations: { predicateType: statement.predicateType },
          },
        ],
        annotations: {
          'dev.shipml.attestation': kind,
          'in-toto.io/predicate-type': statement.predicateType,
        },
      },
      signal,
    );
    out.push({
      kind,
      predicateType: statement.predicateType,
      envelope: digestOf(envelope),
      referrer: referrer.digest,
      mode: referrer.mode,
      attestationManifest: att.digest,
    });
  }
  return out;
}

/** A DSSE envelope found for the image, and where (for messages). */
export interface FoundEnvelope {
  bytes: Buffer;
  digest: Digest;
  /** The predicate type its carrier claims (not yet verified: the signed statement decides). */
  claimedType: string | undefined;
  where: string;
}

/** Every DSSE envelope attached to the image: referrers first, then cosign's `.att`. */
export async function findEnvelopes(
  target: AttestTarget,
  signal?: AbortSignal,
): Promise<FoundEnvelope[]> {
  const repo = target.ref.repository;
  const found = new Map<string, FoundEnvelope>();
  for (const ref of await listReferrers(target.client, repo, target.ref.digest, { signal })) {
    if (!Object.values(ARTIFACT_TYPE).includes(ref.artifactType as never)) continue;
    const manifest = await findManifest(target.client, repo, ref.digest, signal);
    if (!manifest) continue;
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as {
      layers?: Array<{ mediaType: string; digest: Digest; annotations?: Record<string, string> }>;
    };
    for (const layer of parsed.layers ?? []) {
      if (layer.mediaType !== DSSE_MEDIA_TYPE || found.has(layer.digest)) continue;
      const bytes = await target.client.getBlobBytes(repo, layer.digest, signal);
      found.set(layer.digest, {
        bytes,
        digest: layer.digest,
        claimedType: layer.annotations?.predicateType,
        where: `referrer ${ref.digest.slice(0, 19)}`,
      });
    }
  }
  const tag = cosignTag(target.ref.digest, 'att');
  for (const layer of await readCosignLayers(target.client, repo, tag, signal)) {
    if (layer.mediaType !== DSSE_MEDIA_TYPE || found.has(layer.digest)) continue;
    found.set(layer.digest, {
      bytes: layer.bytes,
      digest: layer.digest,
      claimedType: layer.annotations.predicateType,
      where: tag,
    });
  }
  return [...found.values()];
}
