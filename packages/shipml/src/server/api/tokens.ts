/**
 * API tokens: `shipml_<id>_<secret>`, made of 32 random bytes, shown once when created and
 * stored only as the sha256 of the whole token (a token is random, so a fast hash suffices:
 * there is no dictionary to try). `read` tokens see everything but change nothing; `admin`
 * tokens may also run, cancel, promote and roll back. 401: no token, or one that is unknown,
 * expired or revoked; 403: a read token on an admin call.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServiceStore, TokenRecord, TokenScope } from '../store/types.js';

const TOKEN = /^shipml_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createToken(
  store: ServiceStore,
  options: { scope: TokenScope; name: string; expiresInDays?: number | undefined; now?: Date },
): Promise<{ token: string; record: TokenRecord }> {
  const now = options.now ?? new Date();
  const id = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const token = `shipml_${id}_${randomBytes(32).toString('base64url')}`;
  const record: TokenRecord = {
    id,
    hash: hashToken(token),
    scope: options.scope,
    name: options.name,
    createdAt: now.toISOString(),
    expiresAt: options.expiresInDays
      ? new Date(now.getTime() + options.expiresInDays * 86_400_000).toISOString()
      : undefined,
    revokedAt: undefined,
    lastUsedAt: undefined,
  };
  await store.createToken(record);
  return { token, record };
}

export type Authentication =
  { ok: true; token: TokenRecord } | { ok: false; status: 401; reason: string };

/** Checks an `Authorization` header; never says which part of a token was wrong. */
export async function authenticate(
  store: ServiceStore,
  header: string | undefined,
  now: Date,
): Promise<Authentication> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return { ok: false, status: 401, reason: 'a bearer token is required' };
  const presented = match[1]!;
  if (!TOKEN.test(presented)) return { ok: false, status: 401, reason: 'invalid token' };
  const token = await store.findToken(hashToken(presented));
  if (!token) return { ok: false, status: 401, reason: 'invalid token' };
  if (token.revokedAt) return { ok: false, status: 401, reason: 'the token was revoked' };
  if (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime())
    return { ok: false, status: 401, reason: 'the token expired' };
  // Last use is kept to the minute: not a write per request.
  if (!token.lastUsedAt || now.getTime() - Date.parse(token.lastUsedAt) > 60_000)
    await store.touchToken(token.id, now.toISOString()).catch(() => undefined);
  return { ok: true, token };
}

/** Whether a token of `scope` may make a call that needs `needed`. */
export function allows(scope: TokenScope, needed: TokenScope): boolean {
  return needed === 'read' || scope === 'admin';
}
