/**
 * ShipML as a library. The CLI (`shipml`) is a thin layer over these exports.
 */
export * from './core/errors.js';
export { Redactor, redactorFromEnv } from './core/redact.js';
export { withRetry, DEFAULT_RETRY, type RetryPolicy } from './core/retry.js';
export type { ProgressReporter, TransferProgress } from './core/progress.js';
export { loadConfig, parseConfig, type LoadedConfig } from './config/load.js';
export type { ShipmlConfig } from './config/schema.js';
export type { ModelStore, StoreKind } from './model-store/types.js';
export {
  ModelRepository,
  type VersionSummary,
  type PromoteResult,
} from './model-store/repository.js';
export {
  openModelStore,
  defaultStoreUrl,
  storeBackends,
  type StoreSpec,
} from './model-store/registry.js';
export { BlobCache, defaultCacheDir } from './model-store/cache.js';
export {
  parseModelRef,
  formatModelRef,
  validateName,
  validateVersion,
  validateChannel,
  type ModelRef,
} from './model-store/names.js';
export { modelDigest, type Manifest, type FileEntry } from './model-store/manifest.js';
export type { ChannelPointer } from './model-store/channels.js';
export type { PullResult } from './model-store/pull.js';
export * from './deploy/types.js';
export { openTarget, type TargetSelection } from './deploy/targets.js';
export { releaseOf, provenanceOf } from './deploy/release.js';
export { appName, deployConfig, deploySpec } from './deploy/spec.js';
export { startLoad, type LoadOptions, type LoadReport, type LoadRequest } from './deploy/load.js';
export { DockerTarget, type DockerTargetOptions } from './deploy/docker/target.js';
export { KubernetesTarget } from './deploy/kubernetes/index.js';
