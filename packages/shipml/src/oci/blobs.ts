import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline as streamPipeline, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { atomicWrite, tempPathBeside, writeFileAtomic } from '../core/atomic.js';
import { IntegrityError, NotFoundError, systemCode } from '../core/errors.js';
import { VerifyingStream } from '../core/hash.js';
import { digestOf, hexOf, isDigest, type Digest } from './digest.js';
import type { Layer } from './types.js';

/**
 * A local content-addressed blob directory (`blobs/sha256/<hex>`, the OCI layout's shape):
 * the blobs of an OCI layout, the cache of built layers, the cache of model files. It lives
 * in oci/ because its keys are OCI digests and its shape is the OCI layout's; core/ has no
 * digest type, and model-store may import oci.
 *
 * - A blob appears by rename only, so a present blob is complete; a blob whose digest is
 *   known is verified before the rename.
 * - Every read re-hashes what it hands out (verify on use): a directory on disk can rot. An
 *   entry of the wrong size, or whose bytes turn out not to be its digest, is removed, so the
 *   next build or pull writes it again instead of trusting it.
 * - Except a file this instance wrote or verified itself and that is unchanged since (same
 *   inode, mtime and size): a layer built and then pushed in one run is hashed once, not
 *   twice (hashing costs ~1.5 s/GiB here).
 */
export class BlobDir {
  /** Digest → stamp of the file this instance wrote or verified. */
  private readonly verified = new Map<Digest, string>();

  constructor(readonly dir: string) {}

  path(digest: Digest): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  /** Is `digest` here (with `size` bytes, when given)? An entry of another size is removed. */
  async has(digest: Digest, size?: number): Promise<boolean> {
    const info = await stat(this.path(digest)).catch(() => undefined);
    if (!info) return false;
    if (size === undefined || info.size === size) return true;
    await this.evict(digest);
    return false;
  }

  /**
   * Opens a blob, checked as it is read: the stream fails with IntegrityError at its end
   * (and the entry is removed) unless its bytes are `digest`. Undefined when the blob is
   * absent, or of another size than `size` (then it is removed).
   */
  async open(digest: Digest, size?: number): Promise<Readable | undefined> {
    const path = this.path(digest);
    const handle = await open(path, 'r').catch((err: unknown) => {
      if (systemCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) return undefined;
    const info = await handle.stat({ bigint: true });
    if (size !== undefined && info.size !== BigInt(size)) {
      await handle.close();
      await this.evict(digest);
      return undefined;
    }
    const file = createReadStream('', { fd: handle });
    if (this.verified.get(digest) === stampOf(info)) return file;
    const check = new VerifyingStream(
      { size: Number(info.size), sha256: hexOf(digest) },
      (actual) => {
        // Synchronously, before the error is seen: a caller that re-fetches and adds the blob
        // again must not race this removal. Only the file that was read goes (same inode).
        this.verified.delete(digest);
        if (statSync(path, { bigint: true, throwIfNoEntry: false })?.ino === info.ino)
          rmSync(path, { force: true });
        return new IntegrityError(
          `blob ${digest} in ${this.dir} is corrupted (${actual.size} bytes with sha256:${actual.sha256}); it was removed, so the next build or pull writes it again`,
        );
      },
    );
    check.on('end', () => this.verified.set(digest, stampOf(info)));
    return streamPipeline(file, check, () => undefined);
  }

  /** A blob's bytes (small blobs: manifests, configs), verified. */
  async readBlob(digest: Digest): Promise<Buffer> {
    const bytes = await readFile(this.path(digest)).catch((err: unknown) => {
      if (systemCode(err) === 'ENOENT')
        throw new NotFoundError(`blob ${digest} is not in ${this.dir}`, { cause: err });
      throw err;
    });
    if (digestOf(bytes) === digest) return bytes;
    await this.evict(digest);
    throw new IntegrityError(
      `blob ${digest} in ${this.dir} is corrupted; it was removed, so the next build or pull writes it again`,
    );
  }

  /** Adds small bytes under their digest (verified first: a wrong digest is a bug upstream). */
  async writeBlob(digest: Digest, bytes: Uint8Array): Promise<void> {
    if (digestOf(bytes) !== digest)
      throw new IntegrityError(`blob ${digest}: the bytes given have digest ${digestOf(bytes)}`);
    if (await this.has(digest, bytes.length)) return;
    await writeFileAtomic(this.path(digest), bytes);
    await this.trust(digest);
  }

  /**
   * Streams a blob in, checking size and sha256 as it flows; nothing appears under `digest`
   * unless it matched. `what` names the blob in the IntegrityError.
   */
  async writeStream(
    digest: Digest,
    size: number,
    source: Readable,
    what = `blob ${digest}`,
  ): Promise<void> {
    const check = new VerifyingStream(
      { size, sha256: hexOf(digest) },
      (actual) =>
        new IntegrityError(`${what}: got ${actual.size} bytes with sha256:${actual.sha256}`),
    );
    try {
      await atomicWrite(this.path(digest), (temp) =>
        pipeline(source, check, createWriteStream(temp)),
      );
    } catch (err) {
      source.destroy(); // when the write failed before the pipeline took the source
      throw err;
    }
    await this.trust(digest);
  }

  /** Adds a copy of a file whose digest the caller checked (it is checked again on use). */
  async copyFile(digest: Digest, file: string): Promise<void> {
    await atomicWrite(this.path(digest), (temp) => copyFile(file, temp));
    await this.trust(digest);
  }

  /**
   * A path for writing a blob before its digest is known, beside the blobs (same file
   * system, so `commit` is a rename). The caller removes it if it never commits.
   */
  async tempPath(): Promise<string> {
    const blobs = join(this.dir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    return tempPathBeside(join(blobs, 'blob'));
  }

  /** Moves a finished temp file into place as `digest` (replacing any entry: same content). */
  async commit(temp: string, digest: Digest): Promise<void> {
    await rename(temp, this.path(digest)).catch(async (err: unknown) => {
      await rm(temp, { force: true });
      throw err;
    });
    await this.trust(digest);
  }

  async evict(digest: Digest): Promise<void> {
    this.verified.delete(digest);
    await rm(this.path(digest), { force: true });
  }

  /** Remembers the file just written under `digest` as verified (its writer checked it). */
  private async trust(digest: Digest): Promise<void> {
    const info = await stat(this.path(digest), { bigint: true }).catch(() => undefined);
    if (info) this.verified.set(digest, stampOf(info));
  }

  /** A layer whose blob is in this directory (its bytes are verified as they are read). */
  layer(desc: LayerDescriptor): Layer {
    return {
      ...desc,
      open: async (): Promise<Readable> => {
        const blob = await this.open(desc.digest, desc.size);
        if (!blob)
          throw new NotFoundError(`layer ${desc.digest} is no longer in ${this.dir}`, {
            hint: 'run the command again: the layer is built anew',
          });
        return blob;
      },
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
    await writeFileAtomic(join(this.dir, kind, `${key}.json`), JSON.stringify(value));
  }
}

/** What changes whenever a file is replaced or rewritten. */
function stampOf(info: { ino: bigint; mtimeNs: bigint; size: bigint }): string {
  return `${info.ino}-${info.mtimeNs}-${info.size}`;
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
