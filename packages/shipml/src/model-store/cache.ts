import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobDir } from '../oci/blobs.js';
import type { Digest } from '../oci/digest.js';

/**
 * The local cache of model files, `<dir>/blobs/sha256/<hex>`: the one content-addressed blob
 * directory (oci/blobs.ts), keyed by the manifest's hex sha256. Entries are added only after
 * their sha256 was verified, by atomic rename; reads re-hash (a cache on disk can rot) and a
 * bad entry is removed rather than trusted (see pull.ts).
 */
export class BlobCache {
  private readonly blobs: BlobDir;

  constructor(readonly dir: string) {
    this.blobs = new BlobDir(dir);
  }

  /**
   * Opens a cached blob of exactly `size` bytes, or returns undefined on a miss. The stream
   * fails with IntegrityError at its end (and the entry is evicted) if the bytes are not
   * `sha256`.
   */
  open(sha256: string, size: number): Promise<Readable | undefined> {
    return this.blobs.open(digest(sha256), size).catch(() => undefined);
  }

  /** Adds a copy of a verified file. Failures are ignored: the cache is an optimisation. */
  async add(sha256: string, verifiedFile: string): Promise<void> {
    await this.blobs.copyFile(digest(sha256), verifiedFile).catch(() => undefined);
  }

  async evict(sha256: string): Promise<void> {
    await this.blobs.evict(digest(sha256));
  }
}

const digest = (sha256: string): Digest => `sha256:${sha256}`;

/**
 * The cache directory: SHIPML_CACHE_DIR, else $XDG_CACHE_HOME/shipml, else ~/.cache/shipml.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHIPML_CACHE_DIR) return env.SHIPML_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shipml');
}
