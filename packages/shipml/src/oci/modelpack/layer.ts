import { posix } from 'node:path';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { IntegrityError } from '../../core/errors.js';
import { VerifyingStream } from '../../core/hash.js';
import { hexOf, type Digest } from '../digest.js';
import { FIXED_LAYER_TIME, modelLayerEntries } from '../model-layer.js';
import { writeTar } from '../tar.js';

/** `/models/digits/` → `/models/digits`: targets compare equal however they were written. */
export function normaliseTarget(target: string): string {
  return posix.normalize(`/${target}`).replace(/(.)\/+$/, '$1');
}

/** A model's files as its manifest lists them, and where their verified bytes come from. */
export interface LayerFiles {
  files: ReadonlyArray<{ path: string; size: number }>;
  /** Absolute path of the files inside the image (the layer's `target`). */
  target: string;
  /** One file's bytes (checked against the model's manifest as they flow). */
  openFile: (path: string) => Promise<Readable>;
}

/**
 * The bytes of ShipML's plain-tar model layer (oci/model-layer.ts: the same entries, order,
 * times and modes the builder writes), streamed from `openFile` without touching the disk,
 * and checked against the digest and size recorded at publish: a layer that would not be
 * byte-identical to the one in images fails here, with the model named, not at the registry.
 */
export function openModelLayer(
  input: LayerFiles,
  expected: { digest: Digest; size: number },
  what: string,
): Readable {
  const entries = modelLayerEntries(
    input.files.map((f) => ({ ...f, source: '' })),
    input.target,
  ).map((entry, i) => ({
    ...entry,
    source: undefined,
    open: () => input.openFile(input.files[i]!.path),
  }));
  const tar = new PassThrough();
  writeTar(entries, tar, FIXED_LAYER_TIME).catch((err: unknown) => tar.destroy(err as Error));
  const check = new VerifyingStream(
    { size: expected.size, sha256: hexOf(expected.digest) },
    (actual) =>
      new IntegrityError(
        `${what}: its model layer came out as ${actual.size} bytes with sha256:${actual.sha256}, but the model's manifest recorded ${expected.size} bytes with ${expected.digest}`,
      ),
  );
  return pipeline(tar, check, () => undefined);
}
