/**
 * `shipml/oci`: OCI images as values and where they live. Read-only `Image` and `Layer`
 * (types.ts), immutable changes (mutate.ts), deterministic layers from files (tar.ts,
 * layer.ts), the same read/write verbs for every location — a registry, an OCI layout, a
 * docker archive, the Docker Engine (locations.ts) — and the registry client underneath.
 * Mirrors go-containerregistry's shape: https://github.com/google/go-containerregistry
 */
export type { Image, Layer } from './types.js';
export { OciImage } from './image.js';
export { isDigest, digestOf, hexOf, verifyDigest, type Digest } from './digest.js';
export * from './media-types.js';
export type { ConfigFile, Descriptor, ImageIndex, ImageManifest, Platform } from './schema.js';
export {
  appendLayers,
  withAnnotations,
  withConfig,
  type AppendedLayer,
  type ConfigPatch,
} from './mutate.js';
export { buildLayer, type BuildLayerOptions } from './layer.js';
export { collectEntries, writeTar, type CollectOptions, type TarEntry } from './tar.js';
export { BlobDir, type LayerDescriptor } from './blobs.js';
export { imageFromRootfs, type RootfsImportOptions } from './import-rootfs.js';
export {
  parseLocation,
  readImage,
  writeImage,
  type ImageLocation,
  type RegistryAccess,
  type WriteResult,
} from './locations.js';
export { OciLayout } from './layout/index.js';
export { RegistryClient } from './remote/client.js';
export { RegistryTransport } from './remote/transport/index.js';
export type { RegistryOptions } from './remote/transport/types.js';
export { findCredentials, type RegistryCredential } from './remote/credentials.js';
export {
  parseReference,
  formatReference,
  pinned,
  type ImageReference,
} from './remote/reference.js';
export { pullImage } from './remote/read.js';
export { pushImage, type PushProgress, type PushResult } from './remote/write.js';
export { loadIntoEngine, saveFromEngine } from './docker/engine.js';
export { dockerClient, engineEndpoint, type EngineEndpoint } from './docker/client.js';
export {
  modelLayerEntries,
  describeModelLayer,
  MODEL_LAYER_FORMAT,
  FIXED_LAYER_TIME,
  DEFAULT_MODEL_ROOT,
  type ModelFile,
  type ModelLayerRecord,
} from './model-layer.js';
