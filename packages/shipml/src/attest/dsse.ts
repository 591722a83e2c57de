/**
 * DSSE envelopes around in-toto statements, as `cosign attest` writes and
 * `cosign verify-attestation` reads them:
 * - DSSE v1 (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md): the signature
 *   is over PAE(payloadType, payload) = "DSSEv1 <len> <type> <len> <payload>", never over the
 *   payload alone, so a signature cannot be replayed under another type;
 * - in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md):
 *   `subject` names the image by digest; cosign checks that digest against the image it verifies.
 */
import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import { IntegrityError } from '../core/errors.js';
import type { Digest } from '../oci/digest.js';
import type { SigningKey, VerifyingKey } from './keys.js';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

/** An in-toto statement about one image. */
export interface Statement<P = unknown> {
  _type: typeof STATEMENT_V1;
  subject: Array<{ name: string; digest: Record<string, string> }>;
  predicateType: string;
  predicate: P;
}

const EnvelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.string() })).min(1),
});

export type Envelope = z.infer<typeof EnvelopeSchema>;

/** A statement whose subject is the image `name@digest`. */
export function statementFor<P>(
  name: string,
  digest: Digest,
  predicateType: string,
  predicate: P,
): Statement<P> {
  return {
    _type: STATEMENT_V1,
    subject: [{ name, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType,
    predicate,
  };
}

/** Pre-Authentication Encoding (DSSE protocol.md). Lengths are in bytes, in ASCII decimal. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** Signs a statement into a DSSE envelope (ECDSA P-256, SHA-256, ASN.1 DER, as cosign). */
export function signStatement(statement: Statement, key: SigningKey): Buffer {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = sign('sha256', pae(IN_TOTO_PAYLOAD_TYPE, payload), key.privateKey);
  const envelope: Envelope = {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: '', sig: sig.toString('base64') }],
  };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/**
 * Opens an envelope: the statement, if one of its signatures verifies with `key`.
 * @throws IntegrityError (one line) when it is not an in-toto envelope or no signature verifies.
 */
export function openEnvelope(bytes: Buffer, key: VerifyingKey, what: string): Statement {
  let envelope: Envelope;
  try {
    envelope = EnvelopeSchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch {
    throw new IntegrityError(`${what}: not a DSSE envelope`);
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new IntegrityError(`${what}: payload type ${envelope.payloadType} is not in-toto`);
  const payload = Buffer.from(envelope.payload, 'base64');
  const signed = pae(envelope.payloadType, payload);
  const ok = envelope.signatures.some((s) =>
    verify('sha256', signed, key.publicKey, Buffer.from(s.sig, 'base64')),
  );
  if (!ok)
    throw new IntegrityError(
      `${what}: signature does not verify with key ${key.fingerprint.slice(0, 23)} (${key.source})`,
    );
  try {
    return JSON.parse(payload.toString('utf8')) as Statement;
  } catch {
    throw new IntegrityError(`${what}: signed payload is not JSON`);
  }
}

/** The statement's payload without checking any signature (for `shipml sbom` without --key). */
export function readEnvelopeUnverified(bytes: Buffer): Statement | undefined {
  const parsed = EnvelopeSchema.safeParse(JSON.parse(bytes.toString('utf8')) as unknown);
  if (!parsed.success) return undefined;
  try {
    return JSON.parse(Buffer.from(parsed.data.payload, 'base64').toString('utf8')) as Statement;
  } catch {
    return undefined;
  }
}
