import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { isLayerDescriptor, type BlobDir, type LayerDescriptor } from '../oci/blobs.js';
import { buildLayer } from '../oci/layer.js';
import { collectEntries } from '../oci/tar.js';
import type { Layer } from '../oci/types.js';

/** Where a model lands inside the image, unless configured: `/models/<name>`. */
export const DEFAULT_MODEL_ROOT = '/models';

/**
 * Model layers are a pure function of the model's files and where they land: plain tar
 * (weights barely compress), entries at a fixed time, so a new commit never
 * changes the model layer and the same model gives the same layer digest on any machine.
 */
/** 1970-01-01T00:00:01Z, as Jib uses: some tools read a zero time as "unset". */
export const FIXED_LAYER_TIME = new Date(1000);
const FORMAT = 'shipml-model-layer-v1';

export interface ModelLayerInput {
  name: string;
  version: string;
  /** The model digest (from its manifest): the cache key. */
  digest: string;
  /** A directory holding the model's files (a pulled model). */
  dir: string;
  /** Absolute path in the image. */
  target: string;
}

/**
 * The layer for a model, built once per (model digest, target) and then served from the
 * local blob cache: an unchanged model costs no hashing and no tar.
 */
export async function modelLayer(
  model: ModelLayerInput,
  blobs: BlobDir,
): Promise<{ layer: Layer; cached: boolean }> {
  const annotations = {
    'dev.shipml.model.name': model.name,
    'dev.shipml.model.version': model.version,
    'dev.shipml.model.digest': model.digest,
    'dev.shipml.model.path': model.target,
  };
  const key = createHash('sha256')
    .update(`${FORMAT}\n${model.digest}\n${posix.normalize(model.target)}`)
    .digest('hex');
  const known = await blobs.readRecord<LayerDescriptor>('model-layers', key);
  if (isLayerDescriptor(known) && (await blobs.has(known.digest, known.size))) {
    return { layer: blobs.layer({ ...known, annotations }), cached: true };
  }
  const entries = await collectEntries(model.dir, { target: model.target });
  const built = await buildLayer(entries, { blobs, mtime: FIXED_LAYER_TIME, compress: false });
  await blobs.writeRecord('model-layers', key, {
    digest: built.digest,
    diffId: built.diffId,
    size: built.size,
    mediaType: built.mediaType,
  });
  return {
    layer: blobs.layer({
      digest: built.digest,
      diffId: built.diffId,
      size: built.size,
      mediaType: built.mediaType,
      annotations,
    }),
    cached: false,
  };
}
