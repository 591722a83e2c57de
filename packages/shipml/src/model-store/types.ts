import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Descriptor } from '../core/registry.js';
import type { StoreContext } from './context.js';
import type { modelStores } from './registry.js';

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
  /** The back end's id, as in the URL scheme (a StoreKind; a string here so back ends need not know the registry). */
  readonly kind: string;
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
   * Reads a small object only if its ETag is no longer `etag` (a conditional GET,
   * If-None-Match): `'unchanged'` when it still has that ETag (nothing transferred but the
   * answer), undefined when it does not exist, else its bytes and new ETag. For watchers
   * that poll a channel pointer cheaply.
   */
  readIfChanged(
    key: string,
    etag: string,
    options?: OpOptions,
  ): Promise<StoredBytes | 'unchanged' | undefined>;

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

/** A back end's id: its URL scheme (`file`, `s3`, `azblob`). */
export type StoreKind = (typeof modelStores)['ids'][number];

/**
 * A model-store back end as the registry knows it. Its folder holds schema.ts (options, no
 * SDK), descriptor.ts (this object) and index.ts (the implementation, loaded by `open`).
 */
export interface StoreDescriptor<S extends z.ZodType = z.ZodType> extends Descriptor {
  /** The URL shape users write, e.g. `s3://BUCKET/PREFIX` (help and error texts). */
  readonly urlForm: string;
  readonly optionsSchema: S;
  /**
   * Options that may also be given as URL query parameters, with their type. Never secrets:
   * a URL ends up in shell history and CI logs.
   */
  readonly urlParameters: Readonly<Record<string, 'string' | 'boolean' | 'number'>>;
  /**
   * Opens the store at `location` (the URL after `scheme://`, without query) with validated
   * options. Async so the back end's SDK loads only when that back end is used.
   */
  open(location: string, options: z.infer<S>, ctx: StoreContext): Promise<ModelStore>;
}

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
