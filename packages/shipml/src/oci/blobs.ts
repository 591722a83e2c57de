import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hexOf, isDigest, type Digest } from './digest.js';
import type { Layer } from './types.js';

/**
 * A local content-addressed blob directory (`blobs/sha256/<hex>`, the OCI layout's shape):
 * where built layers live, and the cache that makes an unchanged layer cost nothing.
 * Blobs are added by atomic rename only, so a present blob is always complete.
 */
export class BlobDir {
  constructor(readonly dir: string) {}

  path(digest: Digest): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  async has(digest: Digest, size?: number): Promise<boolean> {
    const info = await stat(this.path(digest)).catch(() => undefined);
    return info !== undefined && (size === undefined || info.size === size);
  }

  /** A path for writing a blob before its digest is known (same file system, for rename). */
  async tempPath(): Promise<string> {
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    return join(
      this.dir,
      'tmp',
      `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    );
  }

  /** Moves a finished temp file into place as `digest`. */
  async commit(temp: string, digest: Digest): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    if (await this.has(digest)) {
      await rm(temp, { force: true });
      return;
    }
    await rename(temp, this.path(digest));
  }

  async writeBlob(digest: Digest, bytes: Uint8Array): Promise<void> {
    if (await this.has(digest, bytes.length)) return;
    const temp = await this.tempPath();
    try {
      await writeFile(temp, bytes);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await this.commit(temp, digest);
  }

  readBlob(digest: Digest): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  /** A layer whose blob is in this directory. */
  layer(desc: LayerDescriptor): Layer {
    const path = this.path(desc.digest);
    return {
      ...desc,
      open: (): Promise<Readable> => Promise.resolve(createReadStream(path)),
    };
  }

  /** Small JSON records beside the blobs (layer cache entries), keyed by a hash. */
  async readRecord<T>(kind: string, key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, kind, `${key}.json`), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  async writeRecord(kind: string, key: string, value: unknown): Promise<void> {
    await mkdir(join(this.dir, kind), { recursive: true });
    const temp = await this.tempPath();
    await writeFile(temp, JSON.stringify(value));
    await rename(temp, join(this.dir, kind, `${key}.json`));
  }
}

export interface LayerDescriptor {
  digest: Digest;
  diffId: Digest;
  size: number;
  mediaType: string;
  annotations?: Record<string, string> | undefined;
}

export function isLayerDescriptor(value: unknown): value is LayerDescriptor {
  const v = value as Partial<LayerDescriptor> | undefined;
  return (
    typeof v?.digest === 'string' &&
    isDigest(v.digest) &&
    typeof v.diffId === 'string' &&
    isDigest(v.diffId) &&
    typeof v.size === 'number' &&
    typeof v.mediaType === 'string'
  );
}
