/**
 * One app of the server as a run sees it: its shipml.yaml (from the run's checkout, or from
 * the mirror at a branch head for the triggers' questions), the environment its runs get, and
 * the pipeline pieces that config implies (model repository, deploy target, registry access).
 *
 * The environment of a run is the app's `env` and `secrets` on top of the few variables
 * a process needs to work (PATH, HOME, locale, temp dir) and those that say where the
 * infrastructure is (DOCKER_HOST, KUBECONFIG): never the rest of the server's environment, so
 * the server's own secrets (its webhook secrets, the database URL) never reach an app.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type LoadedConfig } from '../config/load.js';
import type { ShipmlConfig } from '../config/schema.js';
import { deployConfig } from '../deploy/spec.js';
import { BlobCache } from '../model-store/cache.js';
import { openModelStore } from '../model-store/registry.js';
import { ModelRepository } from '../model-store/repository.js';
import { storeSpecOf } from '../pipeline/assemble.js';
import type { Workspaces } from './workspace.js';
import type { AppConfig } from './config/schema.js';

/** Server variables a run inherits: how to run processes and where the infrastructure is. */
const INHERITED = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'DOCKER_HOST',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'KUBECONFIG',
  'SSL_CERT_FILE',
  'NODE_EXTRA_CA_CERTS',
];

export interface AppPaths {
  /** Persistent caches of the app (npm's, ShipML's model and layer cache). */
  cacheDir: string;
  /** Run reports and command logs on disk (the database has them too). */
  runsDir: string;
}

export function appPaths(dataDir: string, app: string): AppPaths {
  return {
    cacheDir: join(dataDir, 'cache', app),
    runsDir: join(dataDir, 'runs', app),
  };
}

/** The environment the app's runs get (see the module comment). */
export function runEnvironment(
  app: AppConfig,
  serverEnv: NodeJS.ProcessEnv,
  paths: AppPaths,
): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    INHERITED.filter((name) => serverEnv[name] !== undefined).map((name) => [
      name,
      serverEnv[name],
    ]),
  );
  return {
    ...inherited,
    // Caches that make `prepare` fast persist per app (npm's cache, ShipML's blob cache).
    npm_config_cache: join(paths.cacheDir, 'npm'),
    SHIPML_CACHE_DIR: join(paths.cacheDir, 'shipml'),
    ...app.env,
    ...app.secrets,
  };
}

/**
 * Parses the app's shipml.yaml; the app's name is its deploy name unless the file says
 * otherwise (a checkout's directory is named after the run, not the app).
 */
export function appConfigFrom(
  text: string,
  file: string,
  app: AppConfig,
  env: NodeJS.ProcessEnv,
): LoadedConfig & { file: string } {
  const loaded = parseConfig(text, file, env);
  const config: ShipmlConfig = loaded.config.deploy?.app
    ? loaded.config
    : { ...loaded.config, deploy: { ...deployConfig(loaded.config), app: app.name } };
  return { ...loaded, config, file };
}

/** The model repository of the app's config (undefined when it ships no model). */
export async function appRepository(
  loaded: { config: ShipmlConfig; file: string },
  env: NodeJS.ProcessEnv,
  cacheDir: string,
): Promise<ModelRepository | undefined> {
  if (!loaded.config.model?.name) return undefined;
  const { spec, where } = storeSpecOf({ ...loaded, configFile: loaded.file, env });
  const store = await openModelStore(spec, env, where);
  await mkdir(cacheDir, { recursive: true });
  return new ModelRepository({ store, cache: new BlobCache(cacheDir) });
}

/**
 * The app's shipml.yaml at its first branch's head, fetched now: what the triggers and the
 * API ask about (the model store and channel, the deploy target) when no run is checked out.
 */
export async function headConfig(
  workspaces: Workspaces,
  app: AppConfig,
  dataDir: string,
  serverEnv: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<{ loaded: LoadedConfig & { file: string }; env: NodeJS.ProcessEnv }> {
  const env = runEnvironment(app, serverEnv, appPaths(dataDir, app.name));
  await workspaces.fetch(app.repository, signal, env);
  const ref = `refs/heads/${app.branches[0]!}`;
  const text = await workspaces.readAt(app.repository, ref, app.config, signal);
  return {
    loaded: appConfigFrom(text, join(dataDir, 'head', app.name, app.config), app, env),
    env,
  };
}
