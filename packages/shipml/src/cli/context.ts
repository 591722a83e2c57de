import { resolve } from 'node:path';
import type { RegistryAccess } from '../oci/locations.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { Redactor } from '../core/redact.js';
import { BlobCache, defaultCacheDir } from '../model-store/cache.js';
import { openModelStore } from '../model-store/registry.js';
import { registryAccessOf, storeSpecOf } from '../pipeline/assemble.js';
import { ModelRepository } from '../model-store/repository.js';
import { cliProgress } from './progress.js';
import type { Output } from './output.js';

/** What every command gets: the environment, where to print, and how to stop. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  output: Output;
  redactor: Redactor;
  signal: AbortSignal;
  /** stderr is a terminal and CI is not set: draw progress bars. */
  tty: boolean;
}

/** Runs a command's body with the shared context; errors become the exit code. */
export type CommandRunner = (
  body: (ctx: CliContext) => Promise<void>,
  flags: { json: boolean; debug: boolean },
) => Promise<void>;

export interface StoreFlags {
  config?: string;
  store?: string;
  /** false with --no-cache */
  cache?: boolean;
  cacheDir?: string;
}

export async function loadCliConfig(
  ctx: CliContext,
  flags: { config?: string },
): Promise<LoadedConfig> {
  const loaded = await loadConfig({ explicit: flags.config, cwd: ctx.cwd, env: ctx.env });
  ctx.redactor.add(...loaded.secrets);
  return loaded;
}

/**
 * The model repository the flags select. The store is, first found:
 * --store, SHIPML_MODEL_STORE, `model.store` in shipml.yaml, the default local directory.
 */
export async function openRepository(
  ctx: CliContext,
  flags: StoreFlags,
): Promise<{ repo: ModelRepository; loaded: LoadedConfig }> {
  const loaded = await loadCliConfig(ctx, flags);
  const { spec, where } = storeSpecOf(
    { ...loaded, configFile: loaded.file, env: ctx.env },
    flags.store,
  );
  const store = await openModelStore(spec, ctx.env, where);
  const cacheDir = flags.cacheDir ?? loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const repo = new ModelRepository({
    store,
    cache: flags.cache === false ? undefined : new BlobCache(cacheDir),
    progress: cliProgress(ctx.output, { tty: ctx.tty }),
  });
  return { repo: repo.withListCommand((name) => listCommand(name, flags)), loaded };
}

/** Registry settings for reading and writing images: shipml.yaml's `registry`, then flags. */
export function registryAccess(
  ctx: CliContext,
  loaded: LoadedConfig,
  flags: { registryCa?: string; insecure?: boolean },
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

/** The model name from an argument or `model.name` in shipml.yaml. */

export function modelNameOrConfig(
  name: string | undefined,
  loaded: LoadedConfig,
  what: string,
): string {
  const found = name ?? loaded.config.model?.name;
  if (!found) {
    throw new ConfigError(
      `${what}: no model name given and no model.name in ${loaded.file ?? 'shipml.yaml (none found)'}`,
      {
        hint: 'pass the model name, or set model.name in shipml.yaml',
      },
    );
  }
  return found;
}

/** `shipml model list NAME` with the `--store` and `-c` the user gave, shell-quoted. */
export function listCommand(name: string, flags: Pick<StoreFlags, 'store' | 'config'>): string {
  const args = ['shipml', 'model', 'list', name];
  if (flags.store) args.push('--store', shellQuote(flags.store));
  if (flags.config) args.push('-c', shellQuote(flags.config));
  return args.join(' ');
}

/** Quotes a word for POSIX shells when it holds anything a shell would interpret. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
