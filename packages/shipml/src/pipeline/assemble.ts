/**
 * What a shipml.yaml implies for a pipeline — registry access, the deploy target, the model
 * store — worked out once for every caller: `shipml run`/`release` (with their flags on top)
 * and `shipml server`'s workers (with the app's environment).
 */
import { dirname, resolve } from 'node:path';
import type { ShipmlConfig } from '../config/schema.js';
import { deployConfig } from '../deploy/spec.js';
import { openTarget } from '../deploy/targets.js';
import type { DeployTarget } from '../deploy/types.js';
import { defaultStoreUrl, type StoreSpec } from '../model-store/registry.js';
import type { RegistryAccess } from '../oci/locations.js';
import { findCredentials } from '../oci/remote/credentials.js';
import { parseReference } from '../oci/remote/reference.js';

export interface ConfigInUse {
  config: ShipmlConfig;
  /** The file it came from (relative paths in it are relative to its directory). */
  configFile: string;
  env: NodeJS.ProcessEnv;
}

/** Registry settings for reading and writing images: shipml.yaml's `registry`, then flags. */
export function registryAccessOf(
  use: ConfigInUse,
  signal: AbortSignal,
  flags: { registryCa?: string | undefined; insecure?: boolean | undefined; cwd?: string } = {},
): RegistryAccess {
  const registry = use.config.registry;
  const base = dirname(use.configFile);
  const ca = flags.registryCa
    ? resolve(flags.cwd ?? base, flags.registryCa)
    : registry?.ca
      ? resolve(base, registry.ca)
      : undefined;
  return {
    env: use.env,
    caFile: ca,
    insecure: flags.insecure ?? registry?.insecure ?? false,
    chunkBytes: registry?.chunkSizeMiB ? registry.chunkSizeMiB * 1024 * 1024 : undefined,
    credentials:
      registry?.username || registry?.password
        ? { username: registry.username, password: registry.password }
        : undefined,
    signal,
  };
}

/** Opens the deploy target lazily (a build-only run never loads its client library). */
export function targetOpenerOf(
  use: ConfigInUse,
  choice: {
    /** --target; default deploy.target. */
    target?: string | undefined;
    /** Flag overrides of the target's options. */
    overrides?: Record<string, unknown> | undefined;
    /** The image to deploy (its registry gives the pull credentials); default image.repository. */
    image?: string | undefined;
  } = {},
): () => Promise<DeployTarget> {
  const deploy = deployConfig(use.config);
  const reference = choice.image ?? use.config.image?.repository;
  return () =>
    openTarget(
      {
        kind: choice.target ?? deploy.target,
        where: choice.target ? '--target' : `${use.configFile}: deploy.target`,
        deploy,
        overrides: choice.overrides,
        registry: reference ? parseReference(reference).registry : undefined,
        registryConfig: use.config.registry,
      },
      use.env,
    );
}

/**
 * The model store a run uses, first found: `explicit` (--store), SHIPML_MODEL_STORE,
 * `model.store` in shipml.yaml, the default local directory; and where it came from.
 */
export function storeSpecOf(
  use: { config: ShipmlConfig; configFile: string | undefined; env: NodeJS.ProcessEnv },
  explicit?: string,
): { spec: StoreSpec; where: string } {
  const configured = use.config.model?.store;
  if (explicit) return { spec: { url: explicit }, where: '--store' };
  if (use.env.SHIPML_MODEL_STORE)
    return { spec: { url: use.env.SHIPML_MODEL_STORE }, where: 'SHIPML_MODEL_STORE' };
  if (configured !== undefined)
    return {
      spec: typeof configured === 'string' ? { url: configured } : configured,
      where: `${use.configFile}: model.store`,
    };
  return { spec: { url: defaultStoreUrl(use.env) }, where: 'default store' };
}

/**
 * Credentials a Docker Engine pulls `image` with (the container runner's image): found as
 * for pushing — shipml.yaml's registry settings, SHIPML_REGISTRY_*, docker's config —
 * and handed to the engine only, never to a command.
 */
export async function pullCredentialsFor(
  image: string,
  use: Pick<ConfigInUse, 'config' | 'env'>,
): Promise<{ registry: string; username: string; password: string } | undefined> {
  if (image.startsWith('oci:')) return undefined;
  const { registry } = parseReference(image);
  const found = await findCredentials(registry, { env: use.env, explicit: use.config.registry });
  return found?.username && found.password
    ? { registry, username: found.username, password: found.password }
    : undefined;
}
