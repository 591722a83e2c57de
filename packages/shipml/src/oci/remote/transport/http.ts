import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Dispatcher, request } from 'undici';
import { ConfigError, systemCode } from '../../../core/errors.js';
import { networkError, redactQuery } from './errors.js';
import type { RegistryRequest, RegistryResponse } from './types.js';

export interface HttpInit {
  method: RegistryRequest['method'];
  headers?: Record<string, string> | undefined;
  body?: Readable | Buffer | string | undefined;
  signal?: AbortSignal | undefined;
}

/** One HTTP exchange with a registry or its token service, nothing more. */
export interface HttpClient {
  /**
   * Sends one request. A failure to get any answer becomes an ExternalServiceError (or
   * CancelledError) naming `what` (default: method and URL without its query).
   */
  request(url: string | URL, init: HttpInit, what?: string): Promise<RegistryResponse>;
}

/**
 * The bottom of the transport chain: an undici agent with the registry's timeouts, its
 * extra CA certificates and redirects followed (blob GETs redirect to storage).
 */
export function httpClient(
  registry: string,
  options: { caFile?: string | undefined; timeoutMs?: number | undefined },
): HttpClient {
  const timeout = options.timeoutMs ?? 60_000;
  const ca = options.caFile ? readCaFile(options.caFile) : undefined;
  // undici loads on first use: it costs ~0.1 s of start-up that most commands never need.
  const http: Promise<{ request: typeof request; dispatcher: Dispatcher }> = import('undici').then(
    ({ Agent, interceptors, request }) => ({
      request,
      dispatcher: new Agent({
        connect: { timeout, ...(ca ? { ca } : {}) },
        headersTimeout: timeout,
        bodyTimeout: timeout,
      }).compose(interceptors.redirect({ maxRedirections: 5 })),
    }),
  );
  http.catch(() => undefined);
  return {
    async request(url, init, what) {
      try {
        const { request, dispatcher } = await http;
        const res = await request(url, { ...init, dispatcher });
        return { status: res.statusCode, headers: res.headers, body: res.body, url: String(url) };
      } catch (err) {
        if (init.body && typeof init.body === 'object' && 'destroy' in init.body)
          init.body.destroy();
        throw networkError(registry, err, what ?? `${init.method} ${redactQuery(String(url))}`);
      }
    },
  };
}

/** Reads the CA bundle now, so a wrong path is a configuration error before any request. */
function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = systemCode(err) ?? (err as Error).name;
    // Node's message reads "ENOENT: no such file or directory, open '...'": keep the middle.
    const detail = /^[A-Z]+: ([^,]+)/.exec((err as Error).message)?.[1];
    throw new ConfigError(
      `registry CA file ${file} cannot be read (${reason}${detail ? `: ${detail}` : ''})`,
      {
        cause: err,
        hint: 'point --registry-ca (or registry.ca in shipml.yaml) at a readable PEM file',
      },
    );
  }
}
