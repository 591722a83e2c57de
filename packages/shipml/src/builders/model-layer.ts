import { createHash } from 'node:crypto';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { IntegrityError } from '../core/errors.js';
import { isLayerDescriptor, type BlobDir, type LayerDescriptor } from '../oci/blobs.js';
import { buildLayer } from '../oci/layer.js';
import {
  FIXED_LAYER_TIME,
  MODEL_LAYER_FORMAT,
  modelLayerEntries,
  type ModelLayerRecord,
} from '../oci/model-layer.js';
import { writeTar } from '../oci/tar.js';
import type { Layer } from '../oci/types.js';

export { DEFAULT_MODEL_ROOT, FIXED_LAYER_TIME } from '../oci/model-layer.js';

export interface ModelLayerInput {
  name: string;
  version: string;
  /** The model digest (from its manifest). */
  digest: string;
  /** Absolute path in the image. */
  target: string;
  /** The model's files, from its manifest. */
  files: ReadonlyArray<{ path: string; size: number }>;
  /** The model's files on disk: pulled (verified) when first asked for. */
  dir: () => Promise<string>;
  /** A file's verified bytes straight from the store (no disk): lets a recorded layer stream. */
  openFile?: ((path: string) => Promise<Readable>) | undefined;
  /** The recorded layer's bytes as they are (a registry artifact's layer), verified. */
  openLayer?: (() => Promise<Readable>) | undefined;
  /** The layer recorded at publish time, if it was recorded for this target. */
  recorded?: ModelLayerRecord | undefined;
  /**
   * Where the recorded layer already is: the model's registry copy (`model.registry`). A push
   * to the same registry mounts it from there, and the model is never read.
   */
  mountFrom?: { registry: string; repository: string } | undefined;
}

/** How a layer came to be in this build. */
export type LayerStatus = 'built' | 'cached' | 'recorded';

/**
 * The layer for a model. In order of cost:
 * - cached: built before on this machine (key: model digest + target), no reading at all;
 * - recorded: known from the model's manifest; the model is not even downloaded unless a
 *   sink needs the bytes (a registry that has the blob never asks);
 * - built: pulled and tarred now, then cached.
 */
export async function modelLayer(
  model: ModelLayerInput,
  blobs: BlobDir,
): Promise<{ layer: Layer; status: LayerStatus }> {
  const annotations = {
    'dev.shipml.model.name': model.name,
    'dev.shipml.model.version': model.version,
    'dev.shipml.model.digest': model.digest,
    'dev.shipml.model.path': model.target,
  };
  const key = createHash('sha256')
    .update(`${MODEL_LAYER_FORMAT}\n${model.digest}\n${posix.normalize(model.target)}`)
    .digest('hex');
  const known = await blobs.readRecord<LayerDescriptor>('model-layers', key);
  if (isLayerDescriptor(known) && (await blobs.has(known.digest, known.size))) {
    const cached = blobs.layer({ ...known, annotations });
    // Built here before, but a registry copy still beats sending it from this machine.
    const layer: Layer = model.mountFrom
      ? { ...describe(cached), source: model.mountFrom, open: () => cached.open() }
      : cached;
    return { layer, status: 'cached' };
  }
  const build = async (): Promise<LayerDescriptor> => {
    const dir = await model.dir();
    const entries = modelLayerEntries(
      model.files.map((f) => ({ ...f, source: join(dir, ...f.path.split('/')) })),
      model.target,
    );
    const built = await buildLayer(entries, { blobs, mtime: FIXED_LAYER_TIME, compress: false });
    const desc = {
      digest: built.digest,
      diffId: built.diffId,
      size: built.size,
      mediaType: built.mediaType,
    };
    await blobs.writeRecord('model-layers', key, desc);
    return desc;
  };
  const recorded = model.recorded;
  if (recorded && posix.normalize(recorded.target) === posix.normalize(model.target)) {
    const layer: Layer = {
      digest: recorded.digest,
      diffId: recorded.digest,
      size: recorded.size,
      mediaType: recorded.mediaType,
      annotations,
      source: model.mountFrom,
      open: async () => {
        if (model.openLayer) return model.openLayer();
        if (model.openFile) {
          // Store → tar → sink, never touching the disk. Each file is verified as it flows;
          // a registry checks the whole layer's digest when the upload completes.
          const openFile = model.openFile;
          const entries = modelLayerEntries(
            model.files.map((f) => ({ ...f, source: '' })),
            model.target,
          ).map((e, i) => ({
            ...e,
            source: undefined,
            open: () => openFile(model.files[i]!.path),
          }));
          const out = new PassThrough();
          writeTar(entries, out, FIXED_LAYER_TIME).catch((err: unknown) =>
            out.destroy(err as Error),
          );
          return out;
        }
        const desc = await build();
        if (desc.digest !== recorded.digest) {
          throw new IntegrityError(
            `model ${model.name}@${model.version}: its layer is ${desc.digest}, but the manifest recorded ${recorded.digest}`,
          );
        }
        return blobs.layer(desc).open();
      },
    };
    return { layer, status: 'recorded' };
  }
  return { layer: blobs.layer({ ...(await build()), annotations }), status: 'built' };
}

/** A layer's identity without its methods (to build a variant of it). */
function describe(layer: Layer): Omit<Layer, 'open'> {
  const { digest, diffId, size, mediaType, annotations } = layer;
  return { digest, diffId, size, mediaType, annotations };
}
