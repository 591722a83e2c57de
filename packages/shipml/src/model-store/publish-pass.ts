import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { IntegrityError } from '../core/errors.js';
import { fanOut } from '../core/fan-out.js';
import { HashingStream } from '../core/hash.js';
import { silentProgress, type ProgressReporter } from '../core/progress.js';
import { isRetryable } from '../core/retry.js';
import type { Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import {
  FIXED_LAYER_TIME,
  MODEL_LAYER_FORMAT,
  modelLayerEntries,
  type ModelLayerRecord,
} from '../oci/model-layer.js';
import { writeTar } from '../oci/tar.js';
import { layout } from './layout.js';
import type { FileEntry } from './manifest.js';
import type { SourceFile } from './source-files.js';
import type { ModelStore } from './types.js';

/**
 * How far one consumer of the read may run ahead of the slowest. The stores copy what they
 * read into their own part or block buffers (S3, Azure) or write it straight to disk
 * (file), so a few MiB keep every consumer busy; more only holds chunks long enough to be
 * promoted out of the young generation, where they wait for a full garbage collection
 * (16 MiB here cost about 40 MiB of peak RSS on a 1 GiB publish).
 */
const BRANCH_BUFFER = 4 * 1024 * 1024;

/**
 * Bytes per read of a model file. Every chunk passes through the hashes, the tar and each
 * upload's stream: 1 MiB chunks cost a sixteenth of the per-chunk work of the default
 * 64 KiB, for the same bytes.
 */
const READ_CHUNK = 1024 * 1024;

export interface PassInput {
  store: ModelStore;
  progress?: ProgressReporter | undefined;
  name: string;
  version: string;
  files: readonly SourceFile[];
  /** Where the model sits in images: the recorded layer's target. */
  target: string;
  /**
   * Takes the model layer's bytes as they are tarred (e.g. a registry upload whose digest
   * is known only at the end). Its failure does not stop the pass: it is reported.
   */
  uploadLayer?:
    | ((layer: Readable, digest: () => Digest) => Promise<{ digest: Digest; size: number }>)
    | undefined;
  signal?: AbortSignal | undefined;
}

export interface PassResult {
  /** Each file's sha256, in `files` order. */
  entries: FileEntry[];
  /** The image layer the model becomes (oci/model-layer.ts), hashed from the same read. */
  layer: ModelLayerRecord;
  /** Files whose upload to the store failed in the pass (to be retried on their own). */
  failed: Array<{ file: SourceFile; error: Error }>;
  /** What became of `uploadLayer`, if given. */
  layerUpload?: { ok: true } | { ok: false; error: Error } | undefined;
}

/**
 * Reads each model file ONCE and feeds every consumer from that read, in parallel: its
 * sha256, its upload to the store, the model layer's tar (hashed into the layer digest) and,
 * when asked, that layer's upload to a registry. Files go in path order, as the layer's tar
 * does. A store upload that fails is dropped from the pass and reported, so the caller can
 * retry that one file; a file that changes while it is read fails the pass.
 */
export async function publishPass(input: PassInput): Promise<PassResult> {
  const { files, signal } = input;
  const progress = input.progress ?? silentProgress;
  const layerBytes = new HashingStream();
  const layerBranch = input.uploadLayer
    ? new PassThrough({ highWaterMark: BRANCH_BUFFER })
    : undefined;
  // The layer is hashed here anyway: the upload takes that digest once the bytes have gone.
  const layerUpload =
    layerBranch && input.uploadLayer!(layerBranch, () => `sha256:${layerBytes.digest()}`);
  layerUpload?.catch((err: unknown) => layerBranch!.destroy(err as Error));
  const layerFlow = fanOut(
    layerBytes,
    layerBranch ? [{ stream: layerBranch, droppable: true }] : [],
  );
  layerFlow.catch(() => undefined); // awaited below

  const reads: Array<Promise<{ entry: FileEntry; error?: Error | undefined }>> = [];
  const readFile = async (
    file: SourceFile,
    tarBranch: PassThrough,
  ): Promise<{ entry: FileEntry; error?: Error | undefined }> => {
    const transfer = progress.begin(`upload ${file.path}`, file.size);
    const storeBranch = new PassThrough({ highWaterMark: BRANCH_BUFFER });
    const upload = input.store.upload(
      layout.file(input.name, input.version, file.path),
      storeBranch,
      file.size,
      { signal, onProgress: (n) => transfer.update(n) },
    );
    // A store that gives up stops reading: let the read go on for the layer without it.
    upload.catch((err: unknown) => storeBranch.destroy(err as Error));
    const hashing = new HashingStream();
    const source = createReadStream(file.absolute, { highWaterMark: READ_CHUNK });
    source.on('error', (err) => hashing.destroy(err));
    source.pipe(hashing);
    try {
      const [storeError] = await fanOut(hashing, [
        { stream: storeBranch, droppable: true },
        { stream: tarBranch },
      ]);
      // The store's own error says more than the closed stream fanOut saw.
      const error =
        (await upload.then(
          () => undefined,
          (err: Error) => err,
        )) ?? storeError;
      // What a retry cannot mend (a missing bucket, refused credentials) ends the pass now.
      if (error && !isRetryable(error)) throw error;
      if (hashing.bytesSeen !== file.size)
        throw new IntegrityError(
          `${file.absolute} changed while it was being published (${file.size} bytes expected, ${hashing.bytesSeen} read)`,
        );
      return { entry: { path: file.path, size: file.size, sha256: hashing.digest() }, error };
    } catch (err) {
      tarBranch.destroy(err as Error);
      throw err;
    } finally {
      transfer.end();
    }
  };

  const entries = modelLayerEntries(
    files.map((f) => ({ path: f.path, size: f.size, source: f.absolute })),
    input.target,
  ).map((entry, i) => ({
    ...entry,
    source: undefined,
    // The tar asks for each file when it reaches it: that is when the file is read.
    open: (): Promise<Readable> => {
      const tarBranch = new PassThrough();
      const read = readFile(files[i]!, tarBranch);
      read.catch(() => undefined); // awaited below
      reads.push(read);
      return Promise.resolve(tarBranch);
    },
  }));
  try {
    await writeTar(entries, layerBytes, FIXED_LAYER_TIME);
  } finally {
    // Every started read settles before the pass answers (no upload left running).
    await Promise.allSettled(reads);
  }
  const results = await Promise.all(reads);
  const [uploadError] = await layerFlow;
  const digest: Digest = `sha256:${layerBytes.digest()}`;
  let layerResult: PassResult['layerUpload'];
  if (layerUpload) {
    const uploaded = await layerUpload.then(
      (r) => r,
      (err: Error) => err,
    );
    layerResult =
      uploaded instanceof Error || uploadError
        ? { ok: false, error: uploaded instanceof Error ? uploaded : uploadError! }
        : uploaded.digest === digest
          ? { ok: true }
          : {
              ok: false,
              error: new IntegrityError(
                `the registry took ${uploaded.digest}, the layer is ${digest}`,
              ),
            };
  }
  return {
    entries: results.map((r) => r.entry),
    layer: {
      format: MODEL_LAYER_FORMAT,
      target: posix.normalize(input.target),
      mediaType: MediaType.ociLayer,
      digest,
      size: layerBytes.bytesSeen,
    },
    failed: results.flatMap((r, i) => (r.error ? [{ file: files[i]!, error: r.error }] : [])),
    layerUpload: layerResult,
  };
}
