import type { BlobDir } from '../oci/blobs.js';
import {
  appendLayers,
  withAnnotations,
  withConfig,
  type AppendedLayer,
  type ConfigPatch,
} from '../oci/mutate.js';
import type { Image } from '../oci/types.js';
import type { GitInfo } from './git.js';
import { modelLayer, type ModelLayerInput } from './model-layer.js';
import { provenance, provenanceEnv } from './provenance.js';
import type { BuildResult, BuiltLayer } from './types.js';

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
    /** The base image (the sign stage's SBOM and provenance name it by digest). */
    base?: { name: string; digest: string } | undefined;
    blobs: BlobDir;
  },
): Promise<BuildResult> {
  const models = await modelLayers(input.models, input.blobs);
  const facts = {
    git: input.git,
    created: input.created,
    version: input.version,
    models: input.models.map(({ name, version, digest, target }) => ({
      name,
      version,
      digest,
      target,
    })),
  };
  const labels = provenance(facts);
  let result = appendLayers(image, [...input.appended, ...models.appended]);
  result = withConfig(result, {
    ...input.config,
    env: { ...(input.builderEnv ?? {}), ...provenanceEnv(facts), ...(input.config.env ?? {}) },
    labels: { ...labels, ...(input.config.labels ?? {}) },
    created: input.created.toISOString(),
  });
  // OCI image-spec annotations.md: the base image's digest and name, on the manifest only.
  const base: Record<string, string> = input.base
    ? {
        'org.opencontainers.image.base.digest': input.base.digest,
        'org.opencontainers.image.base.name': input.base.name,
      }
    : {};
  return {
    image: withAnnotations(result, { ...labels, ...base }),
    layers: [...input.report, ...models.report],
  };
}

/** One layer per model (cached, recorded or built: see modelLayer), with its history line. */
export async function modelLayers(
  models: readonly ModelLayerInput[],
  blobs: BlobDir,
): Promise<{ appended: AppendedLayer[]; report: BuiltLayer[] }> {
  const appended: AppendedLayer[] = [];
  const report: BuiltLayer[] = [];
  for (const model of models) {
    const built = await modelLayer(model, blobs);
    appended.push({
      layer: built.layer,
      createdBy: `shipml: model ${model.name}@${model.version}`,
    });
    const { digest, size } = built.layer;
    report.push({ kind: 'model', digest, size, status: built.status });
  }
  return { appended, report };
}
