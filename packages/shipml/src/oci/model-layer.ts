import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Writable } from 'node:stream';
import type { Digest } from './digest.js';
import { MediaType } from './media-types.js';
import { normaliseImagePath, writeTar, type TarEntry } from './tar.js';

/**
 * The model layer format, shared by the model store (which records a model's layer digest
 * when it is published) and the builder (which builds or reuses the layer): a plain tar of
 * the model's files under `target`, every entry at a fixed time, modes 0644/0755, in path
 * order. It is a pure function of the files and the target, so the digest computed on the
 * data scientist's machine is the one every build produces.
 */
export const MODEL_LAYER_FORMAT = 'shipml-model-layer-v1';

/** 1970-01-01T00:00:01Z, as Jib uses: some tools read a zero time as "unset". */
export const FIXED_LAYER_TIME = new Date(1000);

/** Where a model lands inside the image, unless configured: `/models/<name>`. */
export const DEFAULT_MODEL_ROOT = '/models';

export interface ModelFile {
  /** Path inside the model, `/`-separated. */
  path: string;
  size: number;
  /** The file on disk. */
  source: string;
}

/** A model layer's identity as recorded in the model's manifest. */
export interface ModelLayerRecord {
  format: typeof MODEL_LAYER_FORMAT;
  target: string;
  mediaType: string;
  /** Uncompressed, so digest = diffID. */
  digest: Digest;
  size: number;
}

export function modelLayerEntries(files: readonly ModelFile[], target: string): TarEntry[] {
  const root = normaliseImagePath(target);
  return files.map((f) => ({
    path: posix.join(root, f.path),
    type: 'file' as const,
    source: f.source,
    size: f.size,
    executable: false,
  }));
}

/** Hashes the model layer without writing it anywhere (one read of the files). */
export async function describeModelLayer(
  files: readonly ModelFile[],
  target: string,
): Promise<ModelLayerRecord> {
  const hash = createHash('sha256');
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done();
    },
  });
  await writeTar(modelLayerEntries(files, target), sink, FIXED_LAYER_TIME);
  return {
    format: MODEL_LAYER_FORMAT,
    target: posix.normalize(target),
    mediaType: MediaType.ociLayer,
    digest: `sha256:${hash.digest('hex')}`,
    size,
  };
}
