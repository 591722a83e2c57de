import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Dispatcher, request } from 'undici';
import { z } from 'zod';
import {
  AuthenticationError,
  ConfigError,
  ExternalServiceError,
  RegistryError,
  isAbortError,
  CancelledError,
  systemCode,
} from '../../core/errors.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../../core/retry.js';
import { findCredentials, type RegistryCredential } from './credentials.js';
import { isLoopback } from './reference.js';

export interface RegistryOptions {
  env: NodeJS.ProcessEnv;
  /** Allow plain HTTP to a non-loopback registry (loopback may always fall back to HTTP). */
  insecure?: boolean | undefined;
  /** PEM file of extra CA certificates to trust (self-signed registries). */
  caFile?: string | undefined;
  /** Explicit credentials (ShipML config) used before env and Docker's config. */
  credentials?: { username?: string | undefined; password?: string | undefined } | undefined;
  retry?: RetryPolicy | undefined;
  /** Connect, response-header and idle-body timeout. */
  timeoutMs?: number | undefined;
  /** Upload blobs larger than this in chunks of this size (default: one streamed PUT). */
  chunkBytes?: number | undefined;
}

/** A request body that can be produced again (for a retry or an auth round trip). */
export type BodySource = () => Promise<Readable | Buffer>;

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/v2/...`, or an absolute upload URL the registry gave us (Location). */
  path: string;
  headers?: Record<string, string>;
  body?: BodySource;
  /** Token scopes, e.g. `repository:app:pull,push`. */
  scopes: string[];
  /** Statuses that mean success; anything else is an error. */
  expect: number[];
  signal?: AbortSignal | undefined;
  /** Do not retry this request alone (an upload's PUT/PATCH: its session may be spoiled). */
  once?: boolean;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: string;
}

type Challenge =
  | { scheme: 'basic' }
  | { scheme: 'bearer'; realm: string; service?: string | undefined }
  | { scheme: 'none' };

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

const TokenSchema = z.looseObject({
  token: z.string().optional(),
  access_token: z.string().optional(),
});
const ErrorsSchema = z.object({
  errors: z.array(z.looseObject({ code: z.string(), message: z.string().optional() })),
});

/**
 * HTTP to one registry, as the distribution spec and Docker's token auth describe
 * (https://distribution.github.io/distribution/spec/auth/token/): ping `/v2/`, answer
 * Basic or Bearer challenges (fetching and caching a token per scope), retry transient
 * failures with backoff, and turn error bodies into RegistryErrors carrying their codes.
 */
export class RegistryTransport {
  private base: string | undefined;
  private challenge: Challenge | undefined;
  private credential: RegistryCredential | undefined | null = null;
  private readonly tokens = new Map<string, string>();
  private readonly http: Promise<{ request: typeof request; dispatcher: Dispatcher }>;
  private readonly retry: RetryPolicy;

  constructor(
    readonly registry: string,
    private readonly options: RegistryOptions,
  ) {
    const timeout = options.timeoutMs ?? 60_000;
    let ca: Buffer | undefined;
    if (options.caFile) {
      try {
        ca = readFileSync(options.caFile);
      } catch {
        throw new ConfigError(`registry CA file ${options.caFile} cannot be read`);
      }
    }
    // undici loads on first use: it costs ~0.1 s of start-up that most commands never need.
    this.http = import('undici').then(({ Agent, interceptors, request }) => ({
      request,
      dispatcher: new Agent({
        connect: { timeout, ...(ca ? { ca } : {}) },
        headersTimeout: timeout,
        bodyTimeout: timeout,
      }).compose(interceptors.redirect({ maxRedirections: 5 })),
    }));
    this.http.catch(() => undefined);
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** The retry policy, for callers that retry a sequence of requests as a whole. */
  get retryPolicy(): RetryPolicy {
    return this.retry;
  }

  /** Where the credentials came from (for messages), after the first request. */
  get credentialSource(): string {
    return this.credential ? this.credential.source : 'no credentials (anonymous)';
  }

  async send(req: RegistryRequest): Promise<RegistryResponse> {
    if (req.once) return this.sendOnce(req);
    return withRetry(() => this.sendOnce(req), this.retry, { signal: req.signal });
  }

  private async sendOnce(req: RegistryRequest): Promise<RegistryResponse> {
    const base = await this.resolveBase(req.signal);
    let response = await this.raw(base, req, await this.authorization(req.scopes, req.signal));
    if (response.status === 401) {
      // The token expired, or this scope needs its own: read the challenge and try once more.
      const challenge = parseChallenge(header(response.headers, 'www-authenticate'));
      await response.body.dump();
      if (challenge) this.challenge = challenge;
      this.tokens.delete(req.scopes.join(' '));
      response = await this.raw(base, req, await this.authorization(req.scopes, req.signal));
    }
    if (req.expect.includes(response.status)) return response;
    throw await this.errorOf(req, response);
  }

  private async raw(
    base: string,
    req: RegistryRequest,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    const url = req.path.startsWith('/')
      ? `${base}${req.path}`
      : new URL(req.path, base).toString();
    const body = req.body ? await req.body() : undefined;
    try {
      const res = await (
        await this.http
      ).request(url, {
        method: req.method,
        headers: { ...(req.headers ?? {}), ...(authorization ? { authorization } : {}) },
        body,
        dispatcher: (await this.http).dispatcher,
        signal: req.signal,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    } catch (err) {
      if (body && 'destroy' in body) body.destroy();
      throw this.transportError(err, `${req.method} ${redactQuery(url)}`);
    }
  }

  private async resolveBase(signal?: AbortSignal): Promise<string> {
    if (this.base) return this.base;
    const schemes =
      this.options.insecure || isLoopback(this.registry) ? ['https', 'http'] : ['https'];
    let lastError: unknown;
    for (const scheme of schemes) {
      const base = `${scheme}://${this.registry}`;
      try {
        const res = await (
          await this.http
        ).request(`${base}/v2/`, {
          method: 'GET',
          dispatcher: (await this.http).dispatcher,
          signal,
        });
        await res.body.dump();
        if (res.statusCode === 401)
          this.challenge = parseChallenge(header(res.headers, 'www-authenticate')) ?? {
            scheme: 'none',
          };
        else if (res.statusCode < 400) this.challenge = { scheme: 'none' };
        else
          throw new RegistryError(
            `registry ${this.registry}: GET /v2/ answered HTTP ${res.statusCode}`,
            { retryable: res.statusCode >= 500, status: res.statusCode },
          );
        this.base = base;
        return base;
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        // A certificate we do not trust means a TLS server is there: say so, never fall back.
        if (CERTIFICATE_ERRORS.has(systemCode(err) ?? ''))
          throw this.transportError(err, 'GET /v2/');
        lastError = err;
      }
    }
    throw this.transportError(lastError, `GET /v2/`);
  }

  private async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenge ?? { scheme: 'none' };
    if (challenge.scheme === 'none') return undefined;
    if (this.credential === null)
      this.credential = await findCredentials(this.registry, {
        env: this.options.env,
        explicit: this.options.credentials,
      });
    const cred = this.credential;
    if (challenge.scheme === 'basic') {
      if (!cred?.username && !cred?.password) return undefined;
      return `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
    }
    const key = scopes.join(' ');
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.fetchToken(challenge, scopes, cred, signal);
      this.tokens.set(key, token);
    }
    return `Bearer ${token}`;
  }

  /** Docker token auth: GET the realm (with Basic credentials), or POST a refresh token (OAuth2). */
  private async fetchToken(
    challenge: { realm: string; service?: string | undefined },
    scopes: string[],
    cred: RegistryCredential | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const url = new URL(challenge.realm);
    let res: Dispatcher.ResponseData;
    try {
      if (cred?.identityToken) {
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: cred.identityToken,
          client_id: 'shipml',
          ...(challenge.service ? { service: challenge.service } : {}),
          scope: scopes.join(' '),
        });
        res = await (
          await this.http
        ).request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          dispatcher: (await this.http).dispatcher,
          signal,
        });
      } else {
        if (challenge.service) url.searchParams.set('service', challenge.service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        const basic =
          cred?.username || cred?.password
            ? `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`
            : undefined;
        res = await (
          await this.http
        ).request(url, {
          method: 'GET',
          headers: basic ? { authorization: basic } : {},
          dispatcher: (await this.http).dispatcher,
          signal,
        });
      }
    } catch (err) {
      throw this.transportError(err, `token request to ${url.origin}${url.pathname}`);
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new AuthenticationError(
        `registry ${this.registry}: the token service rejected the credentials from ${this.credentialSource} (HTTP ${res.statusCode})`,
        {
          hint: 'check the registry credentials (docker login, or SHIPML_REGISTRY_USERNAME/PASSWORD)',
          status: res.statusCode,
        },
      );
    }
    if (res.statusCode >= 400)
      throw new ExternalServiceError(
        `registry ${this.registry}: token service answered HTTP ${res.statusCode}`,
        { retryable: res.statusCode >= 500, status: res.statusCode },
      );
    const parsed = TokenSchema.safeParse(JSON.parse(text) as unknown);
    const token = parsed.success ? (parsed.data.token ?? parsed.data.access_token) : undefined;
    if (!token)
      throw new ExternalServiceError(
        `registry ${this.registry}: token service answered without a token`,
        { retryable: false },
      );
    return token;
  }

  private async errorOf(req: RegistryRequest, res: RegistryResponse): Promise<Error> {
    const text = req.method === 'HEAD' ? '' : await res.body.text().catch(() => '');
    if (req.method === 'HEAD') await res.body.dump().catch(() => undefined);
    const parsed = text ? ErrorsSchema.safeParse(safeJson(text)) : undefined;
    const errors = parsed?.success ? parsed.data.errors : [];
    const codes = errors.map((e) => e.code);
    const detail =
      errors.length > 0
        ? errors.map((e) => `${e.code}${e.message ? `: ${e.message}` : ''}`).join('; ')
        : `HTTP ${res.status}`;
    const what = `registry ${this.registry}: ${req.method} ${redactQuery(req.path)}`;
    if (res.status === 401) {
      return new RegistryError(
        `${what} unauthorized with the credentials from ${this.credentialSource} (${detail})`,
        {
          retryable: false,
          status: 401,
          registryCodes: codes.length ? codes : ['UNAUTHORIZED'],
          hint: 'log in (docker login) or set SHIPML_REGISTRY_USERNAME/SHIPML_REGISTRY_PASSWORD',
        },
      );
    }
    if (res.status === 403) {
      return new RegistryError(
        `${what} denied for the credentials from ${this.credentialSource} (${detail})`,
        { retryable: false, status: 403, registryCodes: codes.length ? codes : ['DENIED'] },
      );
    }
    const retryable = res.status >= 500 || res.status === 429 || codes.includes('TOOMANYREQUESTS');
    return new RegistryError(`${what} failed (${detail})`, {
      retryable,
      status: res.status,
      registryCodes: codes,
    });
  }

  private transportError(err: unknown, what: string): Error {
    if (isAbortError(err))
      return new CancelledError(`registry ${this.registry}: ${what} cancelled`, { cause: err });
    if (err instanceof ExternalServiceError || err instanceof ConfigError) return err;
    const code = systemCode(err) ?? systemCode((err as { cause?: unknown } | undefined)?.cause);

    const name = (err as Error | undefined)?.name;
    const message = (err as Error | undefined)?.message ?? String(err);
    const tls = /certificate|self.signed|SSL|TLS|EPROTO/i.test(`${code ?? ''} ${message}`);
    return new ExternalServiceError(
      `registry ${this.registry}: ${what} ${tls ? 'failed the TLS handshake' : 'unreachable or timed out'} (${code ?? name ?? 'error'}: ${message.split('\n')[0]})`,
      {
        retryable: !tls,
        serviceCode: code,
        cause: err,
        hint: tls
          ? 'trust the registry CA with --registry-ca FILE (or registry.ca in shipml.yaml)'
          : 'is the registry running and the address right?',
      },
    );
  }
}

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

export function header(headers: RegistryResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Upload URLs carry opaque state (`_state=...`) in their query: keep it out of messages. */
function redactQuery(url: string): string {
  return url.replace(/\?.*$/, '');
}
