import type { Readable } from 'node:stream';
import type { RetryPolicy } from '../../../core/retry.js';

/** How to reach one registry: trust, credentials, retries and timeouts. */
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

/** A response's body: a stream of its bytes, or all of them at once (read it one way only). */
export interface ResponseBody extends Readable {
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Reads and discards the body (so the connection can be reused); never rejects. */
  dump(): Promise<void>;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  url: string;
}

/**
 * One link of the transport chain (go-containerregistry's `http.RoundTripper`): each wrapper
 * takes the next one and adds one concern — scheme, authorization, error decoding, retry.
 */
export type Send = (req: RegistryRequest) => Promise<RegistryResponse>;

/** The first value of a response header (repeated headers come as arrays). */
export function header(headers: RegistryResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
