import { pipeline, Transform, type Readable } from 'node:stream';
import { RegistryError } from '../../core/errors.js';
import type { Digest } from '../digest.js';
import { pushScope } from './scopes.js';
import { header, type RegistryTransport } from './transport/index.js';

/** A blob to upload: its digest and size are known before the first byte moves. */
export interface BlobUpload {
  repository: string;
  blob: { digest: Digest; size: number };
  /** Opens the blob's bytes (again, for each attempt). */
  open: () => Promise<Readable>;
  onProgress?: ((sent: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * One upload session (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs):
 * POST for a Location, then one streamed PUT when the blob fits in `chunkBytes`, else PATCHes
 * of `chunkBytes` (each held in memory so it can be sent again) and a closing PUT. A failed
 * session is cancelled; the caller retries in a new one.
 */
export async function uploadSession(
  transport: RegistryTransport,
  chunkBytes: number,
  { repository, blob, open, onProgress, signal }: BlobUpload,
): Promise<void> {
  const scopes = [pushScope(repository)];
  let location = await startUpload(transport, repository, signal);
  try {
    if (blob.size <= chunkBytes) {
      const res = await transport.send({
        method: 'PUT',
        path: withQuery(location, 'digest', blob.digest),
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(blob.size),
        },
        body: async () => counting(await open(), onProgress),
        scopes,
        expect: [201],
        once: true,
        signal,
      });
      await res.body.dump();
      return;
    }
    // Chunked: each PATCH carries a byte range; the registry answers with the next location.
    let offset = 0;
    for await (const chunk of chunks(await open(), chunkBytes)) {
      const end = offset + chunk.length - 1;
      location = await patchUpload(
        transport,
        repository,
        location,
        { 'content-length': String(chunk.length), 'content-range': `${offset}-${end}` },
        chunk,
        signal,
      );
      offset = end + 1;
      onProgress?.(offset);
    }
    const done = await transport.send({
      method: 'PUT',
      path: withQuery(location, 'digest', blob.digest),
      headers: { 'content-length': '0' },
      scopes,
      expect: [201],
      signal,
    });
    await done.body.dump();
  } catch (err) {
    await cancelUpload(transport, repository, location).catch(() => undefined);
    throw err;
  }
}

/** Opens an upload session: its Location. */
export async function startUpload(
  transport: RegistryTransport,
  repository: string,
  signal?: AbortSignal,
): Promise<string> {
  const start = await transport.send({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/`,
    scopes: [pushScope(repository)],
    expect: [202],
    signal,
  });
  await start.body.dump();
  return requireLocation(start.headers, transport.registry, 'POST blobs/uploads');
}

/** Sends bytes of an upload session (one PATCH, never retried): the session's next Location. */
export async function patchUpload(
  transport: RegistryTransport,
  repository: string,
  location: string,
  headers: Record<string, string>,
  body: Buffer | Readable,
  signal?: AbortSignal,
): Promise<string> {
  const res = await transport.send({
    method: 'PATCH',
    path: location,
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: () => Promise.resolve(body),
    scopes: [pushScope(repository)],
    expect: [202],
    once: true,
    signal,
  });
  await res.body.dump();
  return requireLocation(res.headers, transport.registry, 'PATCH upload');
}

/** Ends an upload session the registry opened (a mount it declined, or a failed upload). */
export async function cancelUpload(
  transport: RegistryTransport,
  repository: string,
  location: string,
  signal?: AbortSignal,
): Promise<void> {
  const res = await transport.send({
    method: 'DELETE',
    path: location,
    scopes: [pushScope(repository)],
    expect: [204, 404, 405, 202],
    signal,
  });
  await res.body.dump();
}

export function requireLocation(
  headers: Record<string, string | string[] | undefined>,
  registry: string,
  what: string,
): string {
  const location = header(headers, 'location');
  if (!location)
    throw new RegistryError(`registry ${registry}: ${what} answered without a Location`, {
      retryable: false,
    });
  return location;
}

/** Upload Locations carry `_state` query parameters: add ours beside them. */
export function withQuery(location: string, name: string, value: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

function counting(source: Readable, onProgress?: (sent: number) => void): Readable {
  if (!onProgress) return source;
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onProgress((sent += chunk.length));
      done(null, chunk);
    },
  });
  return pipeline(source, counter, () => undefined);
}

async function* chunks(source: Readable, size: number): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const data of source) {
    const buf = data as Buffer;
    pending.push(buf);
    length += buf.length;
    while (length >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield Buffer.concat(pending);
}
