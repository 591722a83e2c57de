import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  ConfigError,
  ConflictError,
  IntegrityError,
  NotFoundError,
  systemCode,
} from '../core/errors.js';
import { HashingStream } from '../core/hash.js';
import { silentProgress, type ProgressReporter } from '../core/progress.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../core/retry.js';
import { DEFAULT_MODEL_ROOT, describeModelLayer } from '../oci/model-layer.js';
import { layout } from './layout.js';
import { buildManifest, encodeManifest, type FileEntry, type Manifest } from './manifest.js';
import { validateFilePath, validateName, validateVersion } from './names.js';
import type { ModelStore } from './types.js';

export interface PublishInput {
  /** A model directory (published recursively) or a single file. */
  source: string;
  name: string;
  version: string;
  metrics?: Record<string, unknown> | undefined;
  metadata?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
}

export interface PublishContext {
  store: ModelStore;
  now: () => Date;
  progress?: ProgressReporter | undefined;
  retry?: RetryPolicy | undefined;
}

/**
 * Publishes a model version: uploads every file (hashing it in the same pass), then writes
 * the manifest create-only. The manifest is the version: until it exists nobody sees the
 * version, so a failed or interrupted publish leaves nothing visible (and its files are
 * removed when we still can). A version that exists is refused, before any upload and
 * again, atomically, by the create-only manifest write.
 */
export async function publishModel(ctx: PublishContext, input: PublishInput): Promise<Manifest> {
  const { store } = ctx;
  const name = validateName(input.name);
  const version = validateVersion(input.version);
  const files = await collectFiles(input.source);
  const manifestKey = layout.manifest(name, version);
  const where = `${name}@${version} in ${store.displayUrl}`;

  if (await store.readSmall(manifestKey, { signal: input.signal })) {
    throw exists(where);
  }

  const uploaded: string[] = [];
  try {
    const entries: FileEntry[] = [];
    for (const file of files) {
      const key = layout.file(name, version, file.path);
      uploaded.push(key);
      const sha256 = await withRetry(
        () => uploadHashed(ctx, key, file, input.signal),
        ctx.retry ?? DEFAULT_RETRY,
        { signal: input.signal },
      );
      entries.push({ path: file.path, size: file.size, sha256 });
    }
    // One more local read: the image layer this model becomes, recorded for builds.
    const layer = await describeModelLayer(
      files.map((f) => ({ path: f.path, size: f.size, source: f.absolute })),
      `${DEFAULT_MODEL_ROOT}/${name}`,
    );
    const manifest = buildManifest({
      name,
      version,
      created: ctx.now(),
      files: entries,
      metrics: input.metrics,
      metadata: input.metadata,
      layer,
    });
    try {
      await store.writeSmall(manifestKey, encodeManifest(manifest), {
        condition: { ifNoneMatch: '*' },
        signal: input.signal,
      });
    } catch (err) {
      // Another publisher of this very version won the race; its files are its own now.
      if (err instanceof ConflictError) uploaded.length = 0;
      throw err instanceof ConflictError ? exists(where) : err;
    }
    return manifest;
  } catch (err) {
    if (uploaded.length > 0) await store.delete(uploaded).catch(() => undefined);
    throw err;
  }
}

interface SourceFile {
  /** Path inside the model, `/`-separated. */
  path: string;
  absolute: string;
  size: number;
}

async function uploadHashed(
  ctx: PublishContext,
  key: string,
  file: SourceFile,
  signal?: AbortSignal,
): Promise<string> {
  const transfer = (ctx.progress ?? silentProgress).begin(`upload ${file.path}`, file.size);
  const hashing = new HashingStream();
  try {
    const source = createReadStream(file.absolute);
    const reading = pipeline(source, hashing);
    // Awaited below; until then, a read failure must not count as an unhandled rejection.
    reading.catch(() => undefined);
    try {
      await ctx.store.upload(key, hashing, file.size, {
        signal,
        onProgress: (n) => transfer.update(n),
      });
    } catch (err) {
      // Stop reading the file too, or the pipeline waits forever on an abandoned stream.
      source.destroy();
      await reading.catch(() => undefined);
      throw err;
    }
    await reading;
  } finally {
    transfer.end();
  }
  if (hashing.bytesSeen !== file.size) {
    throw new IntegrityError(
      `${file.absolute} changed while it was being published (${file.size} bytes expected, ${hashing.bytesSeen} read)`,
    );
  }
  return hashing.digest();
}

/** The files of a model directory (recursive, symlinks followed) or a single file, sorted. */
export async function collectFiles(source: string): Promise<SourceFile[]> {
  const info = await stat(source).catch((err: unknown) => {
    throw systemCode(err) === 'ENOENT'
      ? new NotFoundError(`model source ${source} does not exist`)
      : new ConfigError(`cannot read model source ${source}: ${(err as Error).message}`);
  });
  if (info.isFile())
    return [{ path: validateFilePath(basename(source)), absolute: source, size: info.size }];
  if (!info.isDirectory())
    throw new ConfigError(`model source ${source} is neither a file nor a directory`);

  const files: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir)) {
      const absolute = join(dir, entry);
      const entryInfo = await stat(absolute);
      if (entryInfo.isDirectory()) {
        await walk(absolute);
      } else if (entryInfo.isFile()) {
        const path = relative(source, absolute).split(sep).join('/');
        files.push({ path: validateFilePath(path), absolute, size: entryInfo.size });
      } else {
        throw new ConfigError(`model source ${absolute} is neither a file nor a directory`);
      }
    }
  };
  await walk(source);
  if (files.length === 0) throw new ConfigError(`model source ${source} contains no files`);
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function exists(where: string): ConflictError {
  return new ConflictError(`${where} already exists; published versions are immutable`, {
    hint: 'publish under a new --version',
  });
}
