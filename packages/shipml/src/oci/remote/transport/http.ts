import { readFileSync } from 'node:fs';
import type * as nodeHttp from 'node:http';
import type { Agent, IncomingMessage, RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import { ConfigError, systemCode } from '../../../core/errors.js';
import { networkError, redactQuery } from './errors.js';
import type { RegistryRequest, RegistryResponse, ResponseBody } from './types.js';

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

/** Statuses followed to their Location (blob GETs redirect to storage), at most MAX_REDIRECTS. */
const REDIRECTS = new Set([300, 301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** What dump() reads of a body before it closes the connection instead. */
const DUMP_LIMIT = 128 * 1024;

type HttpModule = Pick<typeof nodeHttp, 'request' | 'Agent'>;

/**
 * The bottom of the transport chain: node's own HTTP client (its parser is native: nothing
 * to compile at start-up, unlike undici's WebAssembly one and its ~400 kB of JavaScript,
 * which cost a short command more than its round trips) with keep-alive connections, the
 * registry's timeout (connect, and any silence while waiting for or reading an answer), its
 * extra CA certificates, and redirects followed as undici and fetch follow them.
 */
export function httpClient(
  registry: string,
  options: { caFile?: string | undefined; timeoutMs?: number | undefined },
): HttpClient {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ca = options.caFile ? readCaFile(options.caFile) : undefined;
  // One keep-alive agent per scheme, for this client only: its connections are reused by
  // its requests (idle ones do not keep the process alive: node unrefs them).
  const agents = new Map<string, Promise<{ http: HttpModule; agent: Agent }>>();
  const agentFor = (protocol: string) => {
    let found = agents.get(protocol);
    if (!found) {
      found = (protocol === 'https:' ? import('node:https') : loadHttpStack()).then((http) => ({
        http,
        agent: new http.Agent({ keepAlive: true, ...(protocol === 'https:' && ca ? { ca } : {}) }),
      }));
      agents.set(protocol, found);
    }
    return found;
  };

  const send = async (url: URL, init: HttpInit, hops: number): Promise<RegistryResponse> => {
    const { http, agent } = await agentFor(url.protocol);
    const res = await exchange(http, agent, url, init, timeoutMs);
    const location = res.headers.location;
    const replayable =
      init.body === undefined || typeof init.body === 'string' || Buffer.isBuffer(init.body);
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location || hops >= MAX_REDIRECTS || !replayable)
      return response(res, url);
    await res.dump();
    // RFC 9110 15.4: 303 (and 301/302 after a POST) continue as a GET without the body.
    const toGet =
      (res.statusCode === 303 && init.method !== 'HEAD') ||
      ((res.statusCode === 301 || res.statusCode === 302) && init.method === 'POST');
    const next = new URL(location, url);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) {
      const lower = name.toLowerCase();
      if (lower === 'host' || (res.statusCode === 303 && lower.startsWith('content-'))) continue;
      // Credentials for one origin are not sent to another (the storage a blob redirects to).
      if (next.origin !== url.origin && CREDENTIALS.has(lower)) continue;
      headers[name] = value;
    }
    return send(
      next,
      { ...init, headers, ...(toGet ? { method: 'GET' as const, body: undefined } : {}) },
      hops + 1,
    );
  };

  return {
    async request(url, init, what) {
      try {
        return await send(typeof url === 'string' ? new URL(url) : url, init, 0);
      } catch (err) {
        if (init.body && typeof init.body === 'object' && 'destroy' in init.body)
          init.body.destroy();
        throw networkError(registry, err, what ?? `${init.method} ${redactQuery(String(url))}`);
      }
    },
  };
}

const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * node's HTTP client, for a caller that knows it will talk to a registry soon and has the
 * CPU idle meanwhile (the module loads once per process).
 */
export async function loadHttpStack(): Promise<HttpModule> {
  return import('node:http');
}

type BodyMessage = IncomingMessage & Pick<ResponseBody, 'text' | 'arrayBuffer' | 'dump'>;

/**
 * One request and its response's head. The timeout covers the connect and any silence of the
 * socket after it (waiting for the answer, or in its body); the signal aborts either phase.
 * Errors after the head arrived go to the body's readers.
 */
function exchange(
  http: HttpModule,
  agent: Agent,
  url: URL,
  init: HttpInit,
  timeoutMs: number,
): Promise<BodyMessage> {
  return new Promise((resolve, reject) => {
    const { signal } = init;
    if (signal?.aborted) return reject(abortError(signal));
    const head: RequestOptions = {
      method: init.method,
      headers: init.headers,
      agent,
      timeout: timeoutMs,
    };
    const req = http.request(url, head);
    let res: BodyMessage | undefined;
    const fail = (err: Error) => {
      if (res) res.destroy(err);
      else reject(err);
      req.destroy();
    };
    const onAbort = () => fail(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    // A plain error with a system code, as a socket's own: networkError says which registry.
    req.on('timeout', () =>
      fail(Object.assign(new Error(`no answer for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err) => {
      done();
      fail(err);
    });
    req.on('response', (message) => {
      res = withBodyMethods(message);
      message.on('close', done);
      resolve(res);
    });
    const body = init.body;
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      // A failing body fails the request; a request that fails stops reading the body.
      body.on('error', (err) => fail(err));
      body.pipe(req);
    }
  });
}

/** What the transport chain sees: status, headers as undici gives them (repeats as arrays). */
function response(res: BodyMessage, url: URL): RegistryResponse {
  const headers: RegistryResponse['headers'] = {};
  for (const [name, values] of Object.entries(res.headersDistinct))
    headers[name] = values && values.length === 1 ? values[0] : values;
  return { status: res.statusCode ?? 0, headers, body: res, url: String(url) };
}

function withBodyMethods(message: IncomingMessage): BodyMessage {
  const all = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of message) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  return Object.assign(message, {
    text: async () => (await all()).toString('utf8'),
    arrayBuffer: async () => {
      const bytes = await all();
      return bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer;
    },
    dump: () =>
      new Promise<void>((resolve) => {
        if (message.complete || message.destroyed) {
          message.resume();
          return resolve();
        }
        let seen = 0;
        message.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > DUMP_LIMIT) message.destroy(); // not worth reading: a new connection is cheaper
        });
        message.on('error', () => undefined);
        message.on('end', () => resolve());
        message.on('close', () => resolve());
        message.resume();
      }),
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return Object.assign(new Error('This operation was aborted', { cause: reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
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
