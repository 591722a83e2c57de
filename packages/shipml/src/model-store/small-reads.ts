import type { ModelStore, OpOptions, StoredBytes } from './types.js';

/** A conditional read's answer: the bytes and their ETag, `'unchanged'`, or absent. */
export type ConditionalRead = StoredBytes | 'unchanged' | undefined;

/**
 * ModelStore's two small-object reads, written once over the back end's one conditional GET:
 * `readSmall` is `readIfChanged` with no ETag to match, so it is never `'unchanged'`.
 */
export abstract class SmallReads implements Pick<ModelStore, 'readSmall' | 'readIfChanged'> {
  /**
   * Reads `key` whole, unless its ETag is still `etag` (If-None-Match): `'unchanged'` then.
   * With `etag` undefined, any object is read.
   */
  protected abstract readUnless(
    key: string,
    etag: string | undefined,
    options: OpOptions,
  ): Promise<ConditionalRead>;

  async readSmall(key: string, options: OpOptions = {}): Promise<StoredBytes | undefined> {
    const read = await this.readUnless(key, undefined, options);
    return read === 'unchanged' ? undefined : read;
  }

  readIfChanged(key: string, etag: string, options: OpOptions = {}): Promise<ConditionalRead> {
    return this.readUnless(key, etag, options);
  }
}
