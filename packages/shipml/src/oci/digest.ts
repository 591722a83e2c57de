import { createHash } from 'node:crypto';
import { IntegrityError } from '../core/errors.js';

/** A content digest, `sha256:<64 hex>` (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests). */
export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST.test(value);
}

export function digestOf(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** Throws IntegrityError when `bytes` do not have `expected` digest. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = digestOf(bytes);
  if (actual !== expected)
    throw new IntegrityError(`${what}: digest ${actual} does not match ${expected}`);
}
