/**
 * Models as CNCF ModelPack artifacts in an OCI registry (model-spec v0.0.7): publish a model
 * version as one (README.md), read any ModelPack artifact back, verified by digest.
 */
export {
  ModelPack,
  ModelPackAnnotation,
  OciAnnotation,
  ShipmlAnnotation,
  parseLayerMediaType,
  type LayerKind,
  type LayerPacking,
} from './media-types.js';
export {
  ModelPackConfigSchema,
  ModelPackManifestSchema,
  type ModelPackConfig,
  type ModelPackManifest,
} from './schema.js';
export { openModelLayer, type LayerFiles } from './layer.js';
export {
  modelPackDocuments,
  pushModelArtifact,
  type PublishedModel,
  type PushModelOptions,
  type PushModelResult,
} from './write.js';
export {
  mountableLayer,
  parseModelArtifactReference,
  readModelArtifact,
  type ArtifactLayer,
  type ModelArtifact,
} from './read.js';
export { extractModelArtifact, type ExtractedFile, type ExtractResult } from './extract.js';
