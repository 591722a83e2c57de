import { ExternalServiceError, RegistryError } from '../../../core/errors.js';
import { isLoopback } from '../reference.js';
import type { HttpClient } from './http.js';
import { header, type Send } from './types.js';

/** What a registry's `WWW-Authenticate` asks for. */
export type Challenge =
  | { scheme: 'basic' }
  | { scheme: 'bearer'; realm: string; service?: string | undefined }
  | { scheme: 'none' };

/** Where the registry answered, and how it wants to be authenticated. */
export interface PingResult {
  base: string;
  challenge: Challenge;
}

/** Node's codes for a TLS peer whose certificate does not verify. */
const CERTIFICATE_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Pings `/v2/` once (https first; plain HTTP only for loopback or `insecure`) and remembers
 * the answer, as go-containerregistry's `transport.Ping` does. A failed ping is not
 * remembered, so a retry pings again.
 */
export class Pinger {
  private result: Promise<PingResult> | undefined;

  constructor(
    private readonly registry: string,
    private readonly http: HttpClient,
    private readonly insecure: boolean,
  ) {}

  ping(signal?: AbortSignal): Promise<PingResult> {
    if (this.result) return this.result;
    const result = this.pingOnce(signal);
    this.result = result;
    result.catch(() => {
      if (this.result === result) this.result = undefined;
    });
    return result;
  }

  private async pingOnce(signal?: AbortSignal): Promise<PingResult> {
    const schemes = this.insecure || isLoopback(this.registry) ? ['https', 'http'] : ['https'];
    let lastError: unknown;
    for (const scheme of schemes) {
      const base = `${scheme}://${this.registry}`;
      try {
        return { base, challenge: await this.challengeAt(base, signal) };
      } catch (err) {
        // A certificate we do not trust means a TLS server is there: say so, never fall back.
        const tls = err instanceof ExternalServiceError && CERTIFICATE_ERRORS.has(err.serviceCode!);
        if (err instanceof RegistryError || tls || !(err instanceof ExternalServiceError))
          throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  private async challengeAt(base: string, signal?: AbortSignal): Promise<Challenge> {
    const res = await this.http.request(`${base}/v2/`, { method: 'GET', signal }, 'GET /v2/');
    await res.body.dump();
    if (res.status === 401)
      return parseChallenge(header(res.headers, 'www-authenticate')) ?? { scheme: 'none' };
    if (res.status < 400) return { scheme: 'none' };
    throw new RegistryError(`registry ${this.registry}: GET /v2/ answered HTTP ${res.status}`, {
      retryable: res.status >= 500,
      status: res.status,
    });
  }
}

/**
 * The scheme wrapper, innermost in the chain: resolves a request's path against the base URL
 * the ping found (upload Locations may be absolute or relative) and sends it.
 */
export function withScheme(http: HttpClient, pinger: Pinger): Send {
  return async (req) => {
    const { base } = await pinger.ping(req.signal);
    const url = req.path.startsWith('/')
      ? `${base}${req.path}`
      : new URL(req.path, base).toString();
    return http.request(url, {
      method: req.method,
      headers: req.headers ?? {},
      body: req.body ? await req.body() : undefined,
      signal: req.signal,
    });
  };
}

/** Parses a `WWW-Authenticate` value (RFC 7235) into the challenge ShipML can answer. */
export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (!value) return undefined;
  const [scheme = '', ...rest] = value.trim().split(/\s+/);
  const params = Object.fromEntries(
    [...rest.join(' ').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
  );
  if (scheme.toLowerCase() === 'basic') return { scheme: 'basic' };
  if (scheme.toLowerCase() === 'bearer' && params.realm)
    return { scheme: 'bearer', realm: params.realm, service: params.service };
  return undefined;
}
