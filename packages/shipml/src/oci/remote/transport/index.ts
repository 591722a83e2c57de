import { DEFAULT_RETRY, type RetryPolicy } from '../../../core/retry.js';
import { Authenticator, withAuth } from './auth.js';
import { checkErrors } from './errors.js';
import { httpClient } from './http.js';
import { Pinger, withScheme } from './ping.js';
import { withRetries } from './retry.js';
import type { RegistryOptions, RegistryRequest, RegistryResponse, Send } from './types.js';

export { parseChallenge, type Challenge } from './ping.js';
export {
  header,
  type BodySource,
  type RegistryOptions,
  type RegistryRequest,
  type RegistryResponse,
  type ResponseBody,
  type Send,
} from './types.js';

/**
 * HTTP to one registry, as the distribution spec and Docker's token auth describe
 * (https://distribution.github.io/distribution/spec/auth/token/), composed of small wrappers
 * the way go-containerregistry's `pkg/v1/remote/transport` is:
 *
 *   retry → error decoding → authorization (Basic / Bearer) → scheme (+ ping) → HTTP
 *
 * Each wrapper is a `Send` taking the next one; this class only puts them together.
 */
export class RegistryTransport {
  private readonly chain: Send;
  private readonly auth: Authenticator;
  private readonly retry: RetryPolicy;

  constructor(
    readonly registry: string,
    options: RegistryOptions,
  ) {
    const http = httpClient(registry, options);
    const pinger = new Pinger(registry, http, options.insecure ?? false);
    this.auth = new Authenticator(registry, http, pinger, {
      env: options.env,
      explicit: options.credentials,
    });
    this.retry = options.retry ?? DEFAULT_RETRY;
    const authorized = withAuth(withScheme(http, pinger), this.auth);
    this.chain = withRetries(
      checkErrors(authorized, registry, () => this.auth.credentialSource),
      this.retry,
    );
  }

  /** The retry policy, for callers that retry a sequence of requests as a whole. */
  get retryPolicy(): RetryPolicy {
    return this.retry;
  }

  /** Where the credentials came from (for messages), after the first request. */
  get credentialSource(): string {
    return this.auth.credentialSource;
  }

  /** Sends `req`; resolves with a response of an expected status, or fails with a ShipML error. */
  send(req: RegistryRequest): Promise<RegistryResponse> {
    return this.chain(req);
  }
}
