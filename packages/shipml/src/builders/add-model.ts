import type { BlobDir } from '../oci/blobs.js';
import type { OciImage } from '../oci/image.js';
import { appendLayers, withAnnotations, withConfig } from '../oci/mutate.js';
import type { Image } from '../oci/types.js';
import { modelLayers } from './finish.js';
import type { ModelLayerInput } from './model-layer.js';
import { provenance, provenanceEnv } from './provenance.js';
import type { BuiltLayer } from './types.js';

/**
 * An image already built plus a model layer, without a rebuild (`shipml image add-model`):
 * the model lands as a new top layer (it replaces nothing below it), and the model's
 * provenance (labels, annotations, MODEL_* env) is recorded as a build would. The image's
 * `created` and its commit labels stay as they were: the app did not change.
 */
export async function addModel(
  base: Image,
  model: ModelLayerInput,
  blobs: BlobDir,
): Promise<{ image: OciImage; layer: BuiltLayer }> {
  const { appended, report } = await modelLayers([model], blobs);
  const { name, version, digest, target } = model;
  const facts = {
    git: undefined,
    created: new Date(base.config.created ?? 0),
    models: [{ name, version, digest, target }],
  };
  const labels = provenance(facts);
  delete labels['org.opencontainers.image.created'];
  let image = appendLayers(base, appended);
  image = withConfig(image, { env: provenanceEnv(facts), labels });
  return { image: withAnnotations(image, labels), layer: report[0]! };
}
