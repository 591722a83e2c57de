import {
  findCredentials,
  type CredentialOptions,
  type RegistryCredential,
} from '../credentials.js';
import { basicAuthorization } from './basic.js';
import { ANONYMOUS } from './errors.js';
import { BearerTokens } from './bearer.js';
import type { HttpClient } from './http.js';
import { parseChallenge, type Challenge, type Pinger } from './ping.js';
import { header, type RegistryRequest, type RegistryResponse, type Send } from './types.js';

/**
 * Answers the registry's challenge: nothing, Basic, or a Bearer token per scope. The challenge
 * comes from the ping and is replaced by any a 401 carries; credentials are looked up once,
 * on the first request that needs them.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private credential: Promise<RegistryCredential | undefined> | undefined;
  private source = ANONYMOUS;
  private readonly bearer: BearerTokens;

  constructor(
    private readonly registry: string,
    http: HttpClient,
    private readonly pinger: Pinger,
    private readonly credentials: CredentialOptions,
  ) {
    this.bearer = new BearerTokens(registry, http);
  }

  /** Where the credentials came from (for messages, never the secret), once looked up. */
  get credentialSource(): string {
    return this.source;
  }

  /** The request with the `Authorization` its scopes need (unchanged when anonymous). */
  async authorize(req: RegistryRequest): Promise<RegistryRequest> {
    const authorization = await this.authorization(req.scopes, req.signal);
    return authorization ? { ...req, headers: { ...req.headers, authorization } } : req;
  }

  /** After a 401: take its challenge (if any) and drop the token that did not do. */
  async rechallenge(res: RegistryResponse, scopes: string[]): Promise<void> {
    const challenge = parseChallenge(header(res.headers, 'www-authenticate'));
    await res.body.dump();
    if (challenge) this.challenge = challenge;
    this.bearer.forget(scopes);
  }

  private async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    this.challenge ??= (await this.pinger.ping(signal)).challenge;
    const challenge = this.challenge;
    if (challenge.scheme === 'none') return undefined;
    const credential = await this.lookup();
    if (challenge.scheme === 'basic') return basicAuthorization(credential);
    return this.bearer.authorization(
      challenge,
      scopes,
      { credential, source: this.source },
      signal,
    );
  }

  private lookup(): Promise<RegistryCredential | undefined> {
    if (this.credential) return this.credential;
    const credential = findCredentials(this.registry, this.credentials).then((found) => {
      this.source = found ? found.source : ANONYMOUS;
      return found;
    });
    this.credential = credential;
    // A failed lookup (a broken Docker config) is not remembered: the next request says it again.
    credential.catch(() => {
      if (this.credential === credential) this.credential = undefined;
    });
    return credential;
  }
}

/**
 * The authorization wrapper (go-containerregistry's basic and bearer transports): adds the
 * credentials, and when the registry answers 401 (an expired token, or a scope that needs
 * its own) reads the new challenge and tries exactly once more.
 */
export function withAuth(next: Send, auth: Authenticator): Send {
  return async (req) => {
    const res = await next(await auth.authorize(req));
    if (res.status !== 401) return res;
    await auth.rechallenge(res, req.scopes);
    return next(await auth.authorize(req));
  };
}
