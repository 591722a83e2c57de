/**
 * Dashboard sessions: the API token itself, kept in an httpOnly, SameSite=Strict cookie (so
 * page script can never read it and other sites never send it), and a CSRF token derived
 * from it — HMAC-SHA256 keyed by the session token — that every state-changing form carries
 * in a hidden field (or the `x-csrf-token` header). Stateless, so several servers behind one
 * load balancer accept each other's forms; unguessable without the cookie. A token is never
 * put in a URL: login is a POST, and nothing redirects with it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Service } from '../service.js';
import { authenticate } from '../api/tokens.js';
import type { TokenRecord } from '../store/types.js';

export const SESSION_COOKIE = 'shipml_session';
export const CSRF_FIELD = 'csrf';
const SESSION_DAYS = 7;

export interface Session {
  token: TokenRecord;
  /** The bearer token, to call the API on the user's behalf (server side only). */
  secret: string;
  csrf: string;
  admin: boolean;
}

export function csrfFor(secret: string): string {
  return createHmac('sha256', secret).update('shipml-dashboard-csrf-v1').digest('base64url');
}

export function csrfMatches(secret: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const want = Buffer.from(csrfFor(secret));
  const got = Buffer.from(presented);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The session of a request's cookie, or undefined (no cookie; token unknown, expired, revoked). */
export async function sessionOf(
  service: Service,
  req: FastifyRequest,
): Promise<Session | undefined> {
  const secret = req.cookies?.[SESSION_COOKIE];
  if (!secret) return undefined;
  const auth = await authenticate(service.store, `Bearer ${secret}`, new Date());
  if (!auth.ok) return undefined;
  return {
    token: auth.token,
    secret,
    csrf: csrfFor(secret),
    admin: auth.token.scope === 'admin',
  };
}

function secure(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function setSession(req: FastifyRequest, reply: FastifyReply, secret: string): void {
  void reply.setCookie(SESSION_COOKIE, secret, {
    httpOnly: true,
    sameSite: 'strict',
    secure: secure(req),
    path: '/',
    maxAge: SESSION_DAYS * 86_400,
  });
}

export function clearSession(req: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    secure: secure(req),
    path: '/',
  });
}

/**
 * A cross-site form post carries its own Origin: refuse one that is not this server's. (The
 * CSRF token is the real check; this one also covers the login form, which has no session.)
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
