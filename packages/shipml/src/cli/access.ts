/** Settings command bodies take from shipml.yaml, the flags and the environment. */
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { defaultCacheDir } from '../model-store/cache.js';
import type { RegistryAccess } from '../oci/locations.js';
import { registryAccessOf } from '../pipeline/assemble.js';
import type { CliContext } from './context.js';
import type { RegistryFlags } from './options.js';

/** Registry settings for reading and writing images: shipml.yaml's `registry`, then flags. */
export function registryAccess(
  ctx: CliContext,
  loaded: LoadedConfig,
  flags: RegistryFlags,
): RegistryAccess {
  ctx.redactor.add(loaded.config.registry?.password);
  return registryAccessOf(
    {
      config: loaded.config,
      configFile: loaded.file ?? resolve(ctx.cwd, 'shipml.yaml'),
      env: ctx.env,
    },
    ctx.signal,
    { ...flags, cwd: ctx.cwd },
  );
}

/** The local cache directory: `cache.dir` in shipml.yaml, else defaultCacheDir (SHIPML_CACHE_DIR, ...). */
export function cacheDirOf(ctx: CliContext, loaded: LoadedConfig): string {
  return loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
}
