import { pipeline, Transform, type Readable } from 'node:stream';
import { RegistryError } from '../../core/errors.js';
import { withRetry } from '../../core/retry.js';
import { digestOf, type Digest } from '../digest.js';
import { INDEX_TYPES, MANIFEST_TYPES } from '../media-types.js';
import { header, RegistryTransport, type RegistryOptions } from './transport.js';

/**
 * By default every blob goes up in one streamed PUT (fastest, memory bounded). Registries
 * or proxies that cap request sizes get chunked PATCHes instead, with `chunkBytes` set; a
 * chunk is held in memory while it is sent (so it can be retried).
 */
const DEFAULT_CHUNK_BYTES = Number.POSITIVE_INFINITY;

/**
 * The operations of the OCI distribution spec ShipML needs
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md), for one registry.
 */
export class RegistryClient {
  readonly transport: RegistryTransport;

  constructor(
    readonly registry: string,
    options: RegistryOptions,
  ) {
    this.transport = new RegistryTransport(registry, options);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  private readonly chunkBytes: number;

  /** The size of a blob the registry has, or undefined. */
  async blobSize(
    repository: string,
    digest: Digest,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const res = await this.transport.send({
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [pull(repository)],
      expect: [200, 404],
      signal,
    });
    await res.body.dump();
    if (res.status === 404) return undefined;
    return Number(header(res.headers, 'content-length'));
  }

  /**
   * Asks the registry to link a blob from another repository (no bytes move).
   * @returns true if mounted; false if the registry started an upload instead (then cancelled).
   */
  async mountBlob(
    repository: string,
    digest: Digest,
    from: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const res = await this.transport.send({
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [push(repository), pull(from)],
      expect: [201, 202],
      signal,
    });
    await res.body.dump();
    if (res.status === 201) return true;
    const location = header(res.headers, 'location');
    if (location) await this.cancelUpload(repository, location, signal);
    return false;
  }

  /**
   * Uploads a blob whose digest and size are known. A transient failure restarts the upload
   * in a new session (a connection reset mid-body can spoil the old one); `open` is called
   * again for each attempt. Monolithic PUT by default, chunked PATCHes when configured.
   */
  async uploadBlob(
    repository: string,
    blob: { digest: Digest; size: number },
    open: () => Promise<Readable>,
    onProgress?: (sent: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await withRetry(
      () => this.uploadSession(repository, blob, open, onProgress, signal),
      this.transport.retryPolicy,
      { signal },
    );
  }

  private async uploadSession(
    repository: string,
    blob: { digest: Digest; size: number },
    open: () => Promise<Readable>,
    onProgress?: (sent: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const start = await this.transport.send({
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/`,
      scopes: [push(repository)],
      expect: [202],
      signal,
    });
    await start.body.dump();
    let location = requireLocation(start.headers, this.registry, 'POST blobs/uploads');
    try {
      if (blob.size <= this.chunkBytes) {
        const res = await this.transport.send({
          method: 'PUT',
          path: withQuery(location, 'digest', blob.digest),
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(blob.size),
          },
          body: async () => counting(await open(), onProgress),
          scopes: [push(repository)],
          expect: [201],
          once: true,
          signal,
        });
        await res.body.dump();
        return;
      }
      // Chunked: each PATCH carries a byte range; the registry answers with the next location.
      const source = await open();
      let offset = 0;
      for await (const chunk of chunks(source, this.chunkBytes)) {
        const end = offset + chunk.length - 1;
        const res = await this.transport.send({
          method: 'PATCH',
          path: location,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(chunk.length),
            'content-range': `${offset}-${end}`,
          },
          body: () => Promise.resolve(chunk),
          scopes: [push(repository)],
          expect: [202],
          once: true,
          signal,
        });
        await res.body.dump();
        location = requireLocation(res.headers, this.registry, 'PATCH upload');
        offset = end + 1;
        onProgress?.(offset);
      }
      const done = await this.transport.send({
        method: 'PUT',
        path: withQuery(location, 'digest', blob.digest),
        headers: { 'content-length': '0' },
        scopes: [push(repository)],
        expect: [201],
        signal,
      });
      await done.body.dump();
    } catch (err) {
      await this.cancelUpload(repository, location).catch(() => undefined);
      throw err;
    }
  }

  async getBlob(repository: string, digest: Digest, signal?: AbortSignal): Promise<Readable> {
    const res = await this.transport.send({
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [pull(repository)],
      expect: [200],
      signal,
    });
    return res.body;
  }

  async getBlobBytes(repository: string, digest: Digest, signal?: AbortSignal): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.getBlob(repository, digest, signal))
      chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    if (digestOf(bytes) !== digest)
      throw new RegistryError(
        `registry ${this.registry}: blob ${digest} in ${repository} does not match its digest`,
        { retryable: false },
      );
    return bytes;
  }

  /** Fetches a manifest or index by tag or digest, accepting OCI and Docker v2 types. */
  async getManifest(
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; mediaType: string; digest: Digest }> {
    const res = await this.transport.send({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pull(repository)],
      expect: [200],
      signal,
    });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const digest = digestOf(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(
        `registry ${this.registry}: manifest ${reference} of ${repository} does not match its digest (${digest})`,
        { retryable: false },
      );
    }
    const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
    return { bytes, mediaType: declared ?? header(res.headers, 'content-type') ?? '', digest };
  }

  /** Does the registry have this manifest (by tag or digest)? */
  async manifestDigest(
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<Digest | undefined> {
    const res = await this.transport.send({
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pull(repository)],
      expect: [200, 404],
      signal,
    });
    await res.body.dump();
    return res.status === 200
      ? (header(res.headers, 'docker-content-digest') as Digest | undefined)
      : undefined;
  }

  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<Digest> {
    const res = await this.transport.send({
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: () => Promise.resolve(bytes),
      scopes: [push(repository)],
      expect: [201],
      signal,
    });
    await res.body.dump();
    return digestOf(bytes);
  }

  private async cancelUpload(
    repository: string,
    location: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await this.transport.send({
      method: 'DELETE',
      path: location,
      scopes: [push(repository)],
      expect: [204, 404, 405, 202],
      signal,
    });
    await res.body.dump();
  }
}

/** Every manifest type we read (distribution answers 404 to a GET without a matching Accept). */
const MANIFEST_ACCEPT = [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ');

const pull = (repository: string) => `repository:${repository}:pull`;
const push = (repository: string) => `repository:${repository}:pull,push`;

function requireLocation(
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
function withQuery(location: string, name: string, value: string): string {
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
