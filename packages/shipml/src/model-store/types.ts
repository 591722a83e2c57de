import type { Readable } from 'node:stream';

/**
 * The contract every model-store back end (file, s3, azblob) implements: a flat key/value
 * object store with conditional writes. Everything model-specific (layout, manifests,
 * channels, hashing, caching) lives once, in ModelRepository, on top of this contract, so
 * the layout is the same in every back end by construction.
 *
 * Keys are `/`-separated, relative to the store's prefix, and always validated by the
 * caller (see names.ts) before they reach a back end.
 */
export interface ModelStore {
  /** The back end's kind, as in the URL scheme. */
  readonly kind: StoreKind;
  /** The store's URL with any secret removed: safe to print. */
  readonly displayUrl: string;
  /** Where the credentials came from, e.g. "environment (AWS_ACCESS_KEY_ID)"; never the secret. */
  readonly credentialSource: string;

  /**
   * Reads a small object whole (manifests, channel pointers).
   * @returns undefined when the object does not exist.
   */
  readSmall(key: string, options?: OpOptions): Promise<StoredBytes | undefined>;

  /**
   * Writes a small object whole, optionally on a condition:
   * `{ ifNoneMatch: '*' }` creates only if absent, `{ ifMatch: etag }` replaces only if the
   * object still has that ETag. A failed condition throws ConflictError.
   * @returns the new object's ETag.
   */
  writeSmall(key: string, bytes: Uint8Array, options?: WriteOptions): Promise<string>;

  /**
   * Streams `size` bytes from `source` into the object at `key` (overwriting it), in parts
   * and in parallel where the back end can, with memory bounded independently of `size`.
   */
  upload(key: string, source: Readable, size: number, options?: TransferOptions): Promise<void>;

  /** Opens an object for reading. Throws NotFoundError when it does not exist. */
  download(key: string, options?: OpOptions): Promise<{ body: Readable; size: number }>;

  /** Lists the keys under `prefix` (recursively), in no particular order. */
  list(prefix: string, options?: OpOptions): AsyncIterable<ObjectInfo>;

  /** Deletes objects; absent keys are not an error. */
  delete(keys: readonly string[], options?: OpOptions): Promise<void>;
}

export type StoreKind = 'file' | 's3' | 'azblob';

export interface StoredBytes {
  bytes: Buffer;
  etag: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface OpOptions {
  signal?: AbortSignal;
}

export interface WriteOptions extends OpOptions {
  condition?: { ifNoneMatch: '*' } | { ifMatch: string };
}

export interface TransferOptions extends OpOptions {
  /** Called with the total number of bytes sent so far. */
  onProgress?: (sent: number) => void;
}
