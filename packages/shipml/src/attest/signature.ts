/**
 * Image signatures in cosign's key-based format (cosign specs/SIGNATURE_SPEC.md).
 *
 * Which layout, and why: ShipML writes the legacy `sha256-<hex>.sig` tag, not the OCI 1.1
 * referrer holding a Sigstore bundle. cosign v2.6.5 — the verifier users have — reads the tag
 * by default (`cosign verify --key`), and writes it by default too (ENVIRONMENT.md checks
 * this); the bundle format needs `--new-bundle-format`, and a key-only bundle without a
 * transparency-log entry is refused unless told otherwise. The tag also works on every
 * registry, with or without the referrers API. To be discoverable the OCI 1.1 way as well,
 * the same `.sig` manifest carries `subject` + `artifactType`
 * (`application/vnd.dev.cosign.artifact.sig.v1+json`, the type cosign's own OCI 1.1 mode uses),
 * so `oras discover` lists it, through the referrers API or the referrers tag (referrers.ts).
 *
 * The signed payload is cosign's "simple signing" JSON: `critical.image.docker-manifest-digest`
 * binds the signature to one manifest digest, so a signature copied next to another image
 * does not verify for it.
 */
import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import { digestOf, type Digest } from '../oci/digest.js';
import {
  appendCosignLayer,
  cosignTag,
  readCosignLayers,
  SIGNATURE_ANNOTATION,
} from './cosign-layout.js';
import type { SigningKey, VerifyingKey } from './keys.js';
import type { ReferrerMode } from './referrers.js';
import type { AttestTarget } from './target.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const SIGNATURE_TYPE = 'cosign container image signature';

const PayloadSchema = z.object({
  critical: z.object({
    identity: z.object({ 'docker-reference': z.string() }),
    image: z.object({ 'docker-manifest-digest': z.string() }),
    type: z.string(),
  }),
  optional: z.record(z.string(), z.unknown()).nullable().optional(),
});

/** cosign's simple-signing payload for `dockerReference@digest` (sigstore pkg/signature/payload). */
export function simpleSigningPayload(
  dockerReference: string,
  digest: Digest,
  optional?: Record<string, string>,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': digest },
        type: SIGNATURE_TYPE,
      },
      optional: optional ?? null,
    }),
  );
}

/** What signing wrote. */
export interface SignResult {
  /** `sha256-<hex>.sig` */
  tag: string;
  /** The signature manifest's digest (also a referrer of the image). */
  manifest: Digest;
  /** The signed payload's digest (the layer). */
  payload: Digest;
  mode: ReferrerMode | 'tag-only';
}

/**
 * Signs the image (by digest) with `key` and attaches the signature where cosign looks for it.
 * `annotations` go into the payload's `optional` section (cosign sign -a), e.g. the commit.
 */
export async function signImage(
  target: AttestTarget,
  key: SigningKey,
  options: { annotations?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<SignResult> {
  const payload = simpleSigningPayload(
    target.repositoryName,
    target.ref.digest,
    options.annotations,
  );
  const sig = sign('sha256', payload, key.privateKey).toString('base64');
  const tag = cosignTag(target.ref.digest, 'sig');
  const written = await appendCosignLayer(
    target.client,
    target.ref.repository,
    tag,
    {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      bytes: payload,
      annotations: { [SIGNATURE_ANNOTATION]: sig },
    },
    { subject: target.subject, artifactType: SIGNATURE_ARTIFACT_TYPE, signal: options.signal },
  );
  return { tag, manifest: written.digest, payload: digestOf(payload), mode: written.mode };
}

/** One signature found next to the image, and what checking it against a key gave. */
export interface SignatureCheck {
  /** Verified with the key and bound to this image's digest. */
  valid: boolean;
  /** The docker-reference the signer named (a copy made elsewhere names its origin). */
  dockerReference?: string | undefined;
  /** The optional claims (annotations) of a valid signature. */
  annotations?: Record<string, unknown> | undefined;
  /** Why not, in one line. */
  problem?: string | undefined;
}

/** Checks every signature cosign would find for the image against `key`. */
export async function checkSignatures(
  target: AttestTarget,
  key: VerifyingKey,
  signal?: AbortSignal,
): Promise<SignatureCheck[]> {
  const layers = await readCosignLayers(
    target.client,
    target.ref.repository,
    cosignTag(target.ref.digest, 'sig'),
    signal,
  );
  return layers
    .filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE)
    .map((layer) => {
      const sig = layer.annotations[SIGNATURE_ANNOTATION];
      if (!sig) return { valid: false, problem: 'a signature layer has no signature annotation' };
      if (!verify('sha256', layer.bytes, key.publicKey, Buffer.from(sig, 'base64')))
        return { valid: false, problem: `a signature does not verify with key ${short(key)}` };
      const parsed = PayloadSchema.safeParse(safeJson(layer.bytes));
      if (!parsed.success)
        return { valid: false, problem: 'a signed payload is not simple signing' };
      const { critical, optional } = parsed.data;
      const dockerReference = critical.identity['docker-reference'];
      if (critical.image['docker-manifest-digest'] !== target.ref.digest)
        return {
          valid: false,
          dockerReference,
          problem: `a signature is for ${dockerReference}@${critical.image['docker-manifest-digest']}, not this image (copied from another image)`,
        };
      return { valid: true, dockerReference, annotations: optional ?? undefined };
    });
}

/** The first 16 hex digits of a key's fingerprint and where it came from. */
export function short(key: VerifyingKey): string {
  return `${key.fingerprint.slice(0, 23)} (${key.source})`;
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
