/**
 * ShipML as a library: the contracts every pluggable kind implements, their registries, and
 * pure helpers. Importing this loads no SDK (no Docker, Kubernetes, AWS or Azure client: a
 * test checks it); the heavy parts sit behind subpath exports, loaded when used:
 *
 *   shipml/oci                 images, layers, OCI layouts, the registry client
 *   shipml/builders            building an app + model image (node, dockerfile)
 *   shipml/pipeline            runPipeline, releasePipeline, run reports, the quality gate
 *   shipml/deploy              releases from images, opening a target, bounded load
 *   shipml/deploy/docker       the Docker target
 *   shipml/deploy/kubernetes   the Kubernetes target
 *   shipml/testing             the conformance suites (vitest) for back ends of your own
 *
 * The CLI (`shipml`) is a thin layer over these.
 */
export * from './core/errors.js';
export { defineRegistry, type Descriptor, type Registry } from './core/registry.js';
export { Redactor, redactorFromEnv } from './core/redact.js';
export { withRetry, DEFAULT_RETRY, type RetryPolicy } from './core/retry.js';
export type { ProgressReporter, TransferProgress } from './core/progress.js';
export { loadConfig, parseConfig, type LoadedConfig } from './config/load.js';
export type { ShipmlConfig } from './config/schema.js';

// Model stores
export type { ModelStore, StoreDescriptor, StoreKind } from './model-store/types.js';
export {
  modelStores,
  openModelStore,
  defaultStoreUrl,
  storeUrlForms,
  type StoreSpec,
} from './model-store/registry.js';
export {
  ModelRepository,
  type VersionSummary,
  type PromoteResult,
} from './model-store/repository.js';
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

// Deploy targets
export * from './deploy/types.js';
export { deployTargets, type DeployTargetId } from './deploy/registry.js';
export { appName, deployConfig, deploySpec } from './deploy/spec.js';

// Image builders
export type * from './builders/types.js';
export { imageBuilders } from './builders/registry.js';

// CI systems (`shipml init`)
export { ciSystems } from './init/registry.js';
export type { CiSystem, CiSystemId, CiSpec } from './init/types.js';
