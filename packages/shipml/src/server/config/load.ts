/**
 * Loads the server's config file: YAML + zod with `${VAR}` from the server's environment,
 * errors naming the file and the dotted path (the same loader as shipml.yaml's). Returns the
 * secret values it found — app secrets, trigger secrets, credentials inside the database and
 * repository URLs — for the redactor, so none of them reaches a log, an answer or a metric.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseYamlConfig } from '../../config/load.js';
import { ConfigError, systemCode } from '../../core/errors.js';
import { secretsOf } from '../../core/registry.js';
import { triggers } from '../triggers/registry.js';
import { ServerConfigSchema, type ServerConfig } from './schema.js';

export const SERVER_CONFIG_FILE = 'shipml-server.yaml';

export interface LoadedServerConfig {
  config: ServerConfig;
  file: string;
  /** dataDir, absolute. */
  dataDir: string;
  secrets: string[];
}

const TRIGGER_SECRETS = new Set(secretsOf([triggers]).options);

/** Which values are secrets, by their path in the file. */
function isSecretPath(path: readonly string[]): boolean {
  if (path[0] !== 'apps') return false;
  const [, , section, , key] = path;
  if (section === 'secrets') return path.length === 4;
  return section === 'triggers' && key !== undefined && TRIGGER_SECRETS.has(key);
}

export async function loadServerConfig(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<LoadedServerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT')
      throw new ConfigError(`server config ${file} does not exist`, {
        hint: `write one (see "The service" in README.md) or pass --config FILE`,
      });
    throw new ConfigError(`cannot read server config ${file}: ${(err as Error).message}`);
  }
  return parseServerConfig(text, resolve(file), env);
}

export function parseServerConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
): LoadedServerConfig {
  const { value, secrets } = parseYamlConfig(text, file, env, ServerConfigSchema, isSecretPath);
  // Each app's caps: the server-wide runnerLimits, key by key overridden by the app's own.
  for (const app of value.apps)
    if (value.runnerLimits || app.runnerLimits)
      app.runnerLimits = { ...value.runnerLimits, ...app.runnerLimits };
  const dataDir = isAbsolute(value.dataDir) ? value.dataDir : resolve(dirname(file), value.dataDir);
  // A URL's own password (database, https repository) is a secret; the rest of it is not.
  const urlSecrets = [value.database, ...value.apps.map((a) => a.repository)].flatMap(userinfo);
  return {
    config: value,
    file,
    dataDir,
    secrets: [...secrets, ...urlSecrets].filter((s) => s !== ''),
  };
}

function userinfo(url: string): string[] {
  try {
    const u = new URL(url);
    return [decodeURIComponent(u.password), u.password].filter(Boolean);
  } catch {
    return [];
  }
}
