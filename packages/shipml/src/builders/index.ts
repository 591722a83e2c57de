/**
 * `shipml/builders`: from an app and a model to an image — the builders' contract and
 * registry, the `build:` section of shipml.yaml, building a project as it describes, the
 * model a build packages, and the shared steps every builder ends with (model layers,
 * provenance). The builders themselves load only when opened (`imageBuilders.get(id).open()`).
 */
export type * from './types.js';
export { imageBuilders } from './registry.js';
export { BuildConfigSchema, SharedBuildSchema, type BuildConfig } from './config-schema.js';
export { buildProject, buildSection, type ProjectBuildInput } from './project.js';
export { resolveManifest, resolveModelInput, modelInput, type ModelSource } from './model-input.js';
export {
  modelLayer,
  DEFAULT_MODEL_ROOT,
  FIXED_LAYER_TIME,
  type ModelLayerInput,
  type LayerStatus,
} from './model-layer.js';
export { finishImage, modelLayers } from './finish.js';
export { addModel } from './add-model.js';
export { cachedLayer, layerCache } from './layer-cache.js';
export { provenance, provenanceEnv, defaultTags, type ProvenanceInput } from './provenance.js';
export { gitInfo, type GitInfo } from './git.js';
