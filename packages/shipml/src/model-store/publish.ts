import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ConflictError, IntegrityError } from '../core/errors.js';
import { HashingStream } from '../core/hash.js';
import { silentProgress, type ProgressReporter } from '../core/progress.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../core/retry.js';
import { DEFAULT_MODEL_ROOT } from '../oci/model-layer.js';
import { layout } from './layout.js';
import { buildManifest, encodeManifest, type Manifest } from './manifest.js';
import { validateName, validateVersion } from './names.js';
import { publishPass } from './publish-pass.js';
import {
  assertVersionFree,
  finishRegistryCopy,
  type RegistryCopy,
  type RegistryCopyTarget,
} from './registry-copy.js';
import { collectFiles, type SourceFile } from './source-files.js';
import type { ModelStore } from './types.js';

export interface PublishInput {
  /** A model directory (published recursively) or a single file. */
  source: string;
  name: string;
  version: string;
  metrics?: Record<string, unknown> | undefined;
  metadata?: Record<string, string> | undefined;
  /** Also push the version to this registry repository as a ModelPack artifact. */
  registry?: RegistryCopyTarget | undefined;
  signal?: AbortSignal | undefined;
}

export interface PublishContext {
  store: ModelStore;
  now: () => Date;
  progress?: ProgressReporter | undefined;
  retry?: RetryPolicy | undefined;
}

/**
 * Publishes a model version: reads every file once, uploading it while it hashes it and the
 * model layer it becomes (and, with `registry`, while that layer goes to the registry:
 * publish-pass.ts), then writes the manifest create-only. The manifest is the version: until it exists nobody sees the
 * version, so a failed or interrupted publish leaves nothing visible (and its files are
 * removed when we still can). A version that exists is refused, before any upload and
 * again, atomically, by the create-only manifest write.
 */
export async function publishModel(
  ctx: PublishContext,
  input: PublishInput,
): Promise<{ manifest: Manifest; registry?: RegistryCopy | undefined }> {
  const { store } = ctx;
  const { signal, registry } = input;
  const name = validateName(input.name);
  const version = validateVersion(input.version);
  const files = await collectFiles(input.source);
  const manifestKey = layout.manifest(name, version);
  const where = `${name}@${version} in ${store.displayUrl}`;

  if (await store.readSmall(manifestKey, { signal })) throw exists(where);
  if (registry) await assertVersionFree(registry, version, signal);

  const uploaded = files.map((f) => layout.file(name, version, f.path));
  try {
    const pass = await publishPass({
      store,
      progress: ctx.progress,
      name,
      version,
      files,
      target: `${DEFAULT_MODEL_ROOT}/${name}`,
      uploadLayer:
        registry &&
        ((layer, digest) =>
          registry.client.uploadStream(registry.target.repository, layer, { signal, digest })),
      signal,
    });
    // A store upload that failed in the pass is tried again on its own (reading that file
    // again); the bytes must be the ones the pass hashed.
    for (const { file } of pass.failed) {
      const sha256 = await withRetry(
        () => uploadHashed(ctx, layout.file(name, version, file.path), file, signal),
        ctx.retry ?? DEFAULT_RETRY,
        { signal },
      );
      if (sha256 !== pass.entries.find((e) => e.path === file.path)?.sha256)
        throw new IntegrityError(`${file.absolute} changed while it was being published`);
    }
    const draft = buildManifest({
      name,
      version,
      created: ctx.now(),
      files: pass.entries,
      metrics: input.metrics,
      metadata: input.metadata,
      layer: pass.layer,
    });
    // Strict: the version exists only once both copies do (the registry first, so the
    // store's manifest can say where the artifact is).
    const copy = registry
      ? await finishRegistryCopy(registry, draft, files, pass.layerUpload, signal)
      : undefined;
    const manifest: Manifest = copy
      ? { ...draft, registry: { reference: copy.reference, digest: copy.digest } }
      : draft;
    try {
      await store.writeSmall(manifestKey, encodeManifest(manifest), {
        condition: { ifNoneMatch: '*' },
        signal,
      });
    } catch (err) {
      // Another publisher of this very version won the race; its files are its own now.
      if (err instanceof ConflictError) uploaded.length = 0;
      throw err instanceof ConflictError ? exists(where) : err;
    }
    return { manifest, registry: copy };
  } catch (err) {
    if (uploaded.length > 0) await store.delete(uploaded).catch(() => undefined);
    throw err;
  }
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

function exists(where: string): ConflictError {
  return new ConflictError(`${where} already exists; published versions are immutable`, {
    hint: 'publish under a new --version',
  });
}
