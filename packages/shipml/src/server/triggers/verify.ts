/**
 * Constant-time checks of webhook credentials. Every comparison of a secret against what a
 * request carries goes through `timingSafeEqual` on equal-length buffers: no early-exit
 * string compare, so response times do not reveal how much of a guess was right.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SHA256_HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether `header` is `sha256=<hex>` of HMAC-SHA256(secret, body): the scheme of GitHub's
 * X-Hub-Signature-256 (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries)
 * and ShipML's generic X-Shipml-Signature. Computed on the raw body bytes.
 */
export function verifyHmacSha256(
  secret: string,
  body: Buffer,
  header: string | undefined,
): boolean {
  if (header === undefined) return false;
  const match = SHA256_HEADER.exec(header.trim());
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  // Both are 32 bytes here; the length check keeps timingSafeEqual from throwing regardless.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `sha256=<hex>` for `body` (what a sender puts in the signature header). */
export function signHmacSha256(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Constant-time equality of a secret and a candidate of any length: both are hashed first,
 * so the compare always runs over 32 bytes and not even the secret's length leaks.
 */
export function secretEquals(secret: string | Buffer, candidate: string | Buffer): boolean {
  const a = createHash('sha256').update(secret).digest();
  const b = createHash('sha256').update(candidate).digest();
  return timingSafeEqual(a, b);
}

/** A header's value if it is a single string (a repeated header is treated as missing). */
export function headerOf(
  headers: Readonly<Record<string, unknown>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}
