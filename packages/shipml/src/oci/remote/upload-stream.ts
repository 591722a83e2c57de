import { pipeline, type Readable } from 'node:stream';
import { CountingStream, HashingStream } from '../../core/hash.js';
import type { Digest } from '../digest.js';
import { pushScope } from './scopes.js';
import type { RegistryTransport } from './transport/index.js';
import { cancelUpload, patchUpload, startUpload, withQuery } from './upload.js';

/**
 * Uploads a blob whose digest and size are known only once its last byte has gone: a
 * stream produced once, e.g. a model layer tarred from files that are being read for other
 * uploads at the same time (single-pass publish). POST for a Location, one streamed PATCH
 * (the distribution spec's "stream" upload: no Content-Range, chunked transfer), then the
 * closing PUT with the digest hashed on the way. The registry verifies the digest before it
 * accepts the blob. Not retried (the bytes cannot be produced again): a failed session is
 * cancelled and the caller uploads again by other means (uploadSession, digest known).
 */
export async function uploadStreamSession(
  transport: RegistryTransport,
  repository: string,
  source: Readable,
  options: {
    onProgress?: ((sent: number) => void) | undefined;
    signal?: AbortSignal | undefined;
    /**
     * The digest, once the source has ended, when the caller hashes the bytes anyway (so they
     * are not hashed twice); the registry still checks it.
     */
    digest?: (() => Digest) | undefined;
  },
): Promise<{ digest: Digest; size: number }> {
  const { signal } = options;
  const scopes = [pushScope(repository)];
  let location = await startUpload(transport, repository, signal);
  const hashing = options.digest
    ? new CountingStream(options.onProgress)
    : new HashingStream(options.onProgress);
  try {
    const body = pipeline(source, hashing, () => undefined);
    location = await patchUpload(transport, repository, location, {}, body, signal);
    const digest: Digest = options.digest?.() ?? `sha256:${(hashing as HashingStream).digest()}`;
    const done = await transport.send({
      method: 'PUT',
      path: withQuery(location, 'digest', digest),
      headers: { 'content-length': '0' },
      scopes,
      expect: [201],
      signal,
    });
    await done.body.dump();
    return { digest, size: hashing.bytesSeen };
  } catch (err) {
    source.destroy();
    await cancelUpload(transport, repository, location).catch(() => undefined);
    throw err;
  }
}
