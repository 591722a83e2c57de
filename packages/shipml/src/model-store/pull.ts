import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ConfigError, IntegrityError, systemCode } from '../core/errors.js';
import { HashingStream } from '../core/hash.js';
import { silentProgress, type ProgressReporter } from '../core/progress.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../core/retry.js';
import type { BlobCache } from './cache.js';
import { layout } from './layout.js';
import type { FileEntry, Manifest } from './manifest.js';
import type { ModelStore } from './types.js';

export interface PullContext {
  store: ModelStore;
  /** Undefined: no cache (--no-cache). */
  cache?: BlobCache | undefined;
  progress?: ProgressReporter | undefined;
  retry?: RetryPolicy | undefined;
}

export interface PullResult {
  manifest: Manifest;
  dest: string;
  /** Files served from the local cache (no network transfer). */
  fromCache: number;
  /** Bytes that crossed the network. */
  downloadedBytes: number;
}

/**
 * Pulls a model's files into `dest` (which must not exist, or be an empty directory).
 * Every file is hashed in the same pass that writes it and checked against the manifest.
 * Everything is written into a sibling `.shipml-partial-*` directory that is renamed to
 * `dest` only at the end: a failed pull leaves nothing at `dest`, and an interrupted one
 * leaves only a directory whose name says it is incomplete.
 */
export async function pullModel(
  ctx: PullContext,
  manifest: Manifest,
  dest: string,
  signal?: AbortSignal,
): Promise<PullResult> {
  await assertEmptyOrAbsent(dest);
  const temp = join(
    dirname(dest),
    `.${basename(dest)}.shipml-partial-${process.pid}-${Date.now()}`,
  );
  const result: PullResult = { manifest, dest, fromCache: 0, downloadedBytes: 0 };
  try {
    for (const file of manifest.files) {
      const target = join(temp, ...file.path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      if (await copyFromCache(ctx.cache, file, target)) {
        result.fromCache++;
        continue;
      }
      const where = `${manifest.name}@${manifest.version} file ${file.path} (${ctx.store.displayUrl})`;
      await withRetry(
        () =>
          downloadVerified(
            ctx,
            layout.file(manifest.name, manifest.version, file.path),
            file,
            target,
            where,
            signal,
          ),
        ctx.retry ?? DEFAULT_RETRY,
        { signal },
      );
      result.downloadedBytes += file.size;
      await ctx.cache?.add(file.sha256, target);
    }
    await rmdir(dest).catch(() => undefined); // an empty destination directory is replaced
    await rename(temp, dest);
    return result;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

async function downloadVerified(
  ctx: PullContext,
  key: string,
  file: FileEntry,
  target: string,
  where: string,
  signal?: AbortSignal,
): Promise<void> {
  const { body } = await ctx.store.download(key, { signal });
  const transfer = (ctx.progress ?? silentProgress).begin(`download ${file.path}`, file.size);
  const hashing = new HashingStream((n) => transfer.update(n));
  try {
    await pipeline(body, hashing, createWriteStream(target), { signal });
  } finally {
    transfer.end();
  }
  checkIntegrity(hashing, file, where);
}

/**
 * Copies a cached blob into place. The cache re-hashes it on the way: a bad entry fails the
 * copy, is evicted by the cache, and the file is downloaded instead.
 */
async function copyFromCache(
  cache: BlobCache | undefined,
  file: FileEntry,
  target: string,
): Promise<boolean> {
  const cached = await cache?.open(file.sha256, file.size);
  if (!cached) return false;
  try {
    await pipeline(cached, createWriteStream(target));
    return true;
  } catch (err) {
    await rm(target, { force: true });
    if (err instanceof IntegrityError) return false;
    throw err;
  }
}

function checkIntegrity(hashing: HashingStream, file: FileEntry, where: string): void {
  if (hashing.bytesSeen !== file.size) {
    throw new IntegrityError(
      `${where}: size ${hashing.bytesSeen} does not match the manifest's ${file.size}`,
      {
        hint: 'the stored model was modified or truncated; re-publish it under a new version',
      },
    );
  }
  if (hashing.digest() !== file.sha256) {
    throw new IntegrityError(
      `${where}: sha256 ${hashing.digest()} does not match the manifest's ${file.sha256}`,
      {
        hint: 'the stored model was modified after publishing; re-publish it under a new version',
      },
    );
  }
}

async function assertEmptyOrAbsent(dest: string): Promise<void> {
  try {
    const entries = await readdir(dest);
    if (entries.length > 0) {
      throw new ConfigError(`destination ${dest} exists and is not empty`, {
        hint: 'pull into a new or empty directory',
      });
    }
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return;
    if (systemCode(err) === 'ENOTDIR')
      throw new ConfigError(`destination ${dest} is a file, not a directory`);
    throw err;
  }
}
