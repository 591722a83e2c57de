import { z } from 'zod';
import { AuthenticationError, ExternalServiceError } from '../../../core/errors.js';
import type { RegistryCredential } from '../credentials.js';
import { basicAuthorization } from './basic.js';
import { credentialsWords, safeJson } from './errors.js';
import type { HttpClient } from './http.js';
import type { RegistryResponse } from './types.js';

const TokenSchema = z.looseObject({
  token: z.string().optional(),
  access_token: z.string().optional(),
});

/** A Bearer challenge: where to ask for a token, and for which service. */
export interface BearerChallenge {
  realm: string;
  service?: string | undefined;
}

/**
 * Docker token auth (https://distribution.github.io/distribution/spec/auth/token/): one token
 * per set of scopes, fetched from the challenge's realm and kept until the registry refuses
 * it (then `forget` it and ask again).
 */
export class BearerTokens {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly registry: string,
    private readonly http: HttpClient,
  ) {}

  /** `Bearer <token>` for `scopes`, from the cache or the token service. */
  async authorization(
    challenge: BearerChallenge,
    scopes: string[],
    cred: { credential: RegistryCredential | undefined; source: string },
    signal?: AbortSignal,
  ): Promise<string> {
    const key = scopes.join(' ');
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.fetch(challenge, scopes, cred, signal);
      this.tokens.set(key, token);
    }
    return `Bearer ${token}`;
  }

  /** Drops the token for `scopes` (expired, or not enough for this request). */
  forget(scopes: string[]): void {
    this.tokens.delete(scopes.join(' '));
  }

  /** GET the realm (with Basic credentials), or POST a refresh token (OAuth2) when there is one. */
  private async fetch(
    challenge: BearerChallenge,
    scopes: string[],
    { credential, source }: { credential: RegistryCredential | undefined; source: string },
    signal?: AbortSignal,
  ): Promise<string> {
    const url = new URL(challenge.realm);
    const what = `token request to ${url.origin}${url.pathname}`;
    let res: RegistryResponse;
    if (credential?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credential.identityToken,
        client_id: 'shipml',
        ...(challenge.service ? { service: challenge.service } : {}),
        scope: scopes.join(' '),
      });
      res = await this.http.request(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          signal,
        },
        what,
      );
    } else {
      if (challenge.service) url.searchParams.set('service', challenge.service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      const basic = basicAuthorization(credential);
      const headers: Record<string, string> = basic ? { authorization: basic } : {};
      res = await this.http.request(url, { method: 'GET', headers, signal }, what);
    }
    const text = await res.body.text();
    if (res.status === 401 || res.status === 403) {
      throw new AuthenticationError(
        `registry ${this.registry}: the token service refused a token ${credentialsWords(source)} (HTTP ${res.status})`,
        {
          hint: 'check the registry credentials (docker login, or SHIPML_REGISTRY_USERNAME/PASSWORD)',
          status: res.status,
        },
      );
    }
    if (res.status >= 400)
      throw new ExternalServiceError(
        `registry ${this.registry}: token service answered HTTP ${res.status}`,
        { retryable: res.status >= 500, status: res.status },
      );
    const parsed = TokenSchema.safeParse(safeJson(text));
    const token = parsed.success ? (parsed.data.token ?? parsed.data.access_token) : undefined;
    if (!token)
      throw new ExternalServiceError(
        `registry ${this.registry}: token service answered without a token`,
        { retryable: false },
      );
    return token;
  }
}
