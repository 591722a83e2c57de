import { z } from 'zod';
import {
  CancelledError,
  ExternalServiceError,
  RegistryError,
  ShipmlError,
  isAbortError,
  systemCode,
} from '../../../core/errors.js';
import type { RegistryRequest, RegistryResponse, Send } from './types.js';

/** The error body of the distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes). */
const ErrorsSchema = z.object({
  errors: z.array(z.looseObject({ code: z.string(), message: z.string().optional() })),
});

/**
 * The error-decoding wrapper (go-containerregistry's `transport.CheckError`): a status the
 * request does not expect becomes a RegistryError carrying the registry's codes.
 * `credentialSource` names where the credentials came from (never the secret).
 */

/** What a request sent when it had no credentials to send (the Authenticator's source then). */
export const ANONYMOUS = 'no credentials (anonymous)';

/** "with the credentials from SOURCE", or "without credentials (anonymous)" when there were none. */
export function credentialsWords(source: string, preposition = 'with'): string {
  return source === ANONYMOUS
    ? 'without credentials (anonymous)'
    : `${preposition} the credentials from ${source}`;
}

export function checkErrors(next: Send, registry: string, credentialSource: () => string): Send {
  return async (req) => {
    const res = await next(req);
    if (req.expect.includes(res.status)) return res;
    throw await registryErrorOf(registry, req, res, credentialSource());
  };
}

/** Decodes an unexpected response into a RegistryError (consuming its body). */
export async function registryErrorOf(
  registry: string,
  req: RegistryRequest,
  res: RegistryResponse,
  credentialSource: string,
): Promise<RegistryError> {
  // A HEAD answer has no body to read.
  const text = req.method === 'HEAD' ? '' : await res.body.text().catch(() => '');
  if (req.method === 'HEAD') await res.body.dump().catch(() => undefined);
  const parsed = text ? ErrorsSchema.safeParse(safeJson(text)) : undefined;
  const errors = parsed?.success ? parsed.data.errors : [];
  const codes = errors.map((e) => e.code);
  const detail =
    errors.length > 0
      ? errors.map((e) => `${e.code}${e.message ? `: ${e.message}` : ''}`).join('; ')
      : `HTTP ${res.status}`;
  const what = `registry ${registry}: ${req.method} ${redactQuery(req.path)}`;
  if (res.status === 401) {
    return new RegistryError(
      `${what} unauthorized ${credentialsWords(credentialSource)} (${detail})`,
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
      `${what} denied ${credentialsWords(credentialSource, 'for')} (${detail})`,
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

/**
 * A request that got no answer (refused, reset, timed out, TLS failure, cancelled) as one
 * clear error. ShipML's own errors pass through: a body stream that failed its own check
 * (IntegrityError) is not a network problem and must not be retried as one.
 */
export function networkError(registry: string, err: unknown, what: string): Error {
  if (isAbortError(err))
    return new CancelledError(`registry ${registry}: ${what} cancelled`, { cause: err });
  if (err instanceof ShipmlError) return err;
  const code = systemCode(err) ?? systemCode((err as { cause?: unknown } | undefined)?.cause);
  const name = (err as Error | undefined)?.name;
  const message = (err as Error | undefined)?.message ?? String(err);
  const tls = /certificate|self.signed|SSL|TLS|EPROTO/i.test(`${code ?? ''} ${message}`);
  return new ExternalServiceError(
    `registry ${registry}: ${what} ${tls ? 'failed the TLS handshake' : 'unreachable or timed out'} (${code ?? name ?? 'error'}: ${message.split('\n')[0]})`,
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

/** Upload URLs carry opaque state (`_state=...`) in their query: keep it out of messages. */
export function redactQuery(url: string): string {
  return url.replace(/\?.*$/, '');
}

/** JSON.parse that answers undefined for what is not JSON (an HTML error page). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
