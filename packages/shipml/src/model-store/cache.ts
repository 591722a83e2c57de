import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * A local content-addressed cache of model files: `<dir>/blobs/sha256/<hex>`.
 * Entries are only ever added after their sha256 was verified, by atomic rename, so a
 * partially written entry is never visible. Readers still re-hash what they copy out
 * (see pull.ts): a cache on disk can rot, and a bad entry is evicted rather than trusted.
 */
export class BlobCache {
  constructor(readonly dir: string) {}

  private path(sha256: string): string {
    return join(this.dir, 'blobs', 'sha256', sha256);
  }

  /** Opens a cached blob of exactly `size` bytes, or returns undefined on a miss. */
  async open(sha256: string, size: number): Promise<Readable | undefined> {
    const path = this.path(sha256);
    try {
      const info = await stat(path);
      if (info.size !== size) {
        await this.evict(sha256);
        return undefined;
      }
      return createReadStream(path);
    } catch {
      return undefined;
    }
  }

  /** Adds a copy of a verified file. Failures are ignored: the cache is an optimisation. */
  async add(sha256: string, verifiedFile: string): Promise<void> {
    const final = this.path(sha256);
    const temp = `${final}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
      await copyFile(verifiedFile, temp);
      await rename(temp, final);
    } catch {
      await rm(temp, { force: true });
    }
  }

  async evict(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
  }
}

/**
 * The cache directory: SHIPML_CACHE_DIR, else $XDG_CACHE_HOME/shipml, else ~/.cache/shipml.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHIPML_CACHE_DIR) return env.SHIPML_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shipml');
}
