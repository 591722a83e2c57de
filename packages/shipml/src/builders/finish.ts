import type { BlobDir } from '../oci/blobs.js';
import type { OciImage } from '../oci/image.js';
import {
  appendLayers,
  withAnnotations,
  withConfig,
  type AppendedLayer,
  type ConfigPatch,
} from '../oci/mutate.js';
import type { Image } from '../oci/types.js';
import type { GitInfo } from './git.js';
import { modelLayer, type LayerStatus, type ModelLayerInput } from './model-layer.js';
import { provenance, provenanceEnv } from './provenance.js';

/** One layer a builder added, and whether the cache served it. */
export interface BuiltLayer {
  kind: 'dependencies' | 'app' | 'model';
  digest: string;
  size: number;
  /** built now, cached from an earlier build, or recorded (a model layer known from its manifest). */
  status: LayerStatus;
}

export interface BuildResult {
  image: OciImage;
  layers: BuiltLayer[];
}

/**
 * What every builder does last, whatever built the app: append one plain-tar layer per
 * model, then record provenance (labels, annotations, env for the app) and the config.
 */
export async function finishImage(
  image: Image,
  input: {
    appended: AppendedLayer[];
    report: BuiltLayer[];
    models: readonly ModelLayerInput[];
    git: GitInfo | undefined;
    created: Date;
    version: string | undefined;
    config: ConfigPatch;
    /** Env the builder sets before the user's (e.g. NODE_ENV). */
    builderEnv?: Record<string, string>;
    blobs: BlobDir;
  },
): Promise<BuildResult> {
  const appended = [...input.appended];
  const report = [...input.report];
  for (const model of input.models) {
    const built = await modelLayer(model, input.blobs);
    appended.push({
      layer: built.layer,
      createdBy: `shipml: model ${model.name}@${model.version}`,
    });
    report.push({
      kind: 'model',
      digest: built.layer.digest,
      size: built.layer.size,
      status: built.status,
    });
  }
  const facts = {
    git: input.git,
    created: input.created,
    version: input.version,
    models: input.models.map((m) => ({
      name: m.name,
      version: m.version,
      digest: m.digest,
      target: m.target,
    })),
  };
  const labels = provenance(facts);
  let result = appendLayers(image, appended);
  result = withConfig(result, {
    ...input.config,
    env: { ...(input.builderEnv ?? {}), ...provenanceEnv(facts), ...(input.config.env ?? {}) },
    labels: { ...labels, ...(input.config.labels ?? {}) },
    created: input.created.toISOString(),
  });
  return { image: withAnnotations(result, labels), layers: report };
}
