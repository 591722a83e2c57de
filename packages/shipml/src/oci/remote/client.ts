import type { Readable } from 'node:stream';
import { RegistryError } from '../../core/errors.js';
import { withRetry } from '../../core/retry.js';
import { digestOf, type Digest } from '../digest.js';
import { INDEX_TYPES, MANIFEST_TYPES } from '../media-types.js';
import { pullScope as pull, pushScope as push } from './scopes.js';
import {
  header,
  RegistryTransport,
  type RegistryOptions,
  type RegistryResponse,
} from './transport/index.js';
import { uploadStreamSession } from './upload-stream.js';
import { cancelUpload, uploadSession } from './upload.js';

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
    const found = await this.head(repository, `blobs/${digest}`, {}, signal);
    return found && Number(header(found, 'content-length'));
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
    if (location) await cancelUpload(this.transport, repository, location, signal);
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
      () =>
        uploadSession(this.transport, this.chunkBytes, {
          repository,
          blob,
          open,
          onProgress,
          signal,
        }),
      this.transport.retryPolicy,
      { signal },
    );
  }

  /**
   * Uploads a blob produced once, whose digest is known only at its end (upload-stream.ts):
   * one attempt, no retry; the registry checks the digest hashed on the way.
   */
  async uploadStream(
    repository: string,
    source: Readable,
    options: {
      onProgress?: (sent: number) => void;
      signal?: AbortSignal;
      digest?: () => Digest;
    } = {},
  ): Promise<{ digest: Digest; size: number }> {
    return uploadStreamSession(this.transport, repository, source, options);
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
    const found = await this.head(
      repository,
      `manifests/${reference}`,
      { accept: MANIFEST_ACCEPT },
      signal,
    );
    return found && (header(found, 'docker-content-digest') as Digest | undefined);
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

  /** HEAD `/v2/<repository>/<path>`: the response headers, or undefined on 404. */
  private async head(
    repository: string,
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<RegistryResponse['headers'] | undefined> {
    const res = await this.transport.send({
      method: 'HEAD',
      path: `/v2/${repository}/${path}`,
      headers,
      scopes: [pull(repository)],
      expect: [200, 404],
      signal,
    });
    await res.body.dump();
    return res.status === 404 ? undefined : res.headers;
  }
}

/** Every manifest type we read (distribution answers 404 to a GET without a matching Accept). */
const MANIFEST_ACCEPT = [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ');
