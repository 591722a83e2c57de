/**
 * What every command gets, and the helpers most of them use. Imported by the commands'
 * definitions, so the config loader and what opens a model store load only when a command calls
 * for them (`shipml model --help` reads no shipml.yaml and opens no store).
 */
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import type { Redactor } from '../core/redact.js';
import type { ModelRepository } from '../model-store/repository.js';
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
  const { loadConfig } = await import('../config/load.js');
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
  const [
    { BlobCache, defaultCacheDir },
    { openModelStore },
    { storeSpecOf },
    repository,
    progress,
  ] = await Promise.all([
    import('../model-store/cache.js'),
    import('../model-store/registry.js'),
    import('../pipeline/assemble.js'),
    import('../model-store/repository.js'),
    import('./progress.js'),
  ]);
  const { spec, where } = storeSpecOf(
    { ...loaded, configFile: loaded.file, env: ctx.env },
    flags.store,
  );
  const store = await openModelStore(spec, ctx.env, where);
  const cacheDir = flags.cacheDir ?? loaded.config.cache?.dir ?? defaultCacheDir(ctx.env);
  const repo = new repository.ModelRepository({
    store,
    cache: flags.cache === false ? undefined : new BlobCache(cacheDir),
    progress: progress.cliProgress(ctx.output, { tty: ctx.tty }),
  });
  return { repo: repo.withListCommand((name) => listCommand(name, flags)), loaded };
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
