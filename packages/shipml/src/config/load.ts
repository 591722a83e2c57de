import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, systemCode } from '../core/errors.js';
import { ConfigSchema, SECRET_KEYS, type ShipmlConfig } from './schema.js';

export const CONFIG_FILE = 'shipml.yaml';

export interface LoadedConfig {
  config: ShipmlConfig;
  /** The file it came from; undefined when there is none (all defaults). */
  file: string | undefined;
  /** Secret values found in it (after interpolation), for the redactor. */
  secrets: string[];
}

/**
 * Loads shipml.yaml: from `explicit` if given (it must exist), else the nearest one in
 * `cwd` or its parents, else defaults. Strings may use `${VAR}` or `${VAR:-default}`
 * (environment); `$${` escapes a literal `${`. Errors name the file, the line for YAML
 * syntax, the dotted path for schema errors, and what was expected, in one line.
 */
export async function loadConfig(options: {
  explicit?: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
}): Promise<LoadedConfig> {
  const file = options.explicit
    ? resolve(options.cwd, options.explicit)
    : await findUp(options.cwd);
  if (!file) return { config: ConfigSchema.parse({}), file: undefined, secrets: [] };

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') throw new ConfigError(`config file ${file} does not exist`);
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file, options.env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const { value, secrets } = parseYamlConfig(text, file, env, ConfigSchema, SECRET_KEYS);
  return { config: value, file, secrets };
}

/**
 * Parses a YAML config file against `schema` (shipml.yaml, the server's config): `${VAR}`
 * interpolation, no aliases or tags, errors naming the file and the line or dotted path.
 * Values under keys in `secretKeys` (anywhere in the file) are returned for the redactor.
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  schema: S,
  secretKeys: ReadonlySet<string> | ((path: readonly string[]) => boolean),
): { value: z.output<S>; secrets: string[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });

  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new ConfigError(`${where}: invalid YAML: ${syntax.message.split('\n')[0]}`);
  }
  const secrets: string[] = [];
  const isSecret =
    typeof secretKeys === 'function'
      ? secretKeys
      : (path: readonly string[]) => secretKeys.has(path.at(-1) ?? '');
  const raw: unknown = interpolate(doc.contents, [], { file, env, secrets, isSecret });
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${describeIssue(i)}`,
    );
    throw new ConfigError(`${file}: ${issues.join('; ')}`, {
      hint: 'see the configuration reference in README.md',
    });
  }
  return { value: parsed.data, secrets };
}

interface Walk {
  file: string;
  env: NodeJS.ProcessEnv;
  secrets: string[];
  isSecret: (path: readonly string[]) => boolean;
}

function interpolate(node: Node | null, path: string[], walk: Walk): unknown {
  if (node === null) return null;
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      out[key] = interpolate(pair.value as Node | null, [...path, key], walk);
    }
    return out;
  }
  if (isSeq(node))
    return node.items.map((item, i) => interpolate(item as Node, [...path, String(i)], walk));
  if (isScalar(node)) {
    if (typeof node.value !== 'string') return node.value;
    const value = expand(node.value, path, walk);
    if (walk.isSecret(path)) walk.secrets.push(value);
    return value;
  }
  throw new ConfigError(
    `${walk.file}: ${path.join('.')}: unsupported YAML node (aliases and tags are not allowed)`,
  );
}

function expand(value: string, path: string[], walk: Walk): string {
  return value.replace(
    /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g,
    (match, name?: string, fallback?: string) => {
      if (match === '$${') return '${';
      if (name === undefined) {
        throw new ConfigError(
          `${walk.file}: ${path.join('.')}: malformed variable reference ${JSON.stringify(match)}: expected \${NAME} or \${NAME:-default}`,
        );
      }
      const found = walk.env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `${walk.file}: ${path.join('.')}: environment variable ${name} is not set`,
        {
          hint: `export ${name}, or write \${${name}:-default} in the config`,
        },
      );
    },
  );
}

function describeIssue(issue: { code: string; message: string }): string {
  if (issue.code === 'unrecognized_keys')
    return issue.message.replace(/^Unrecognized key/, 'unknown key');
  return issue.message;
}

async function findUp(start: string): Promise<string | undefined> {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE);
    try {
      await readFile(candidate);
      return candidate;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}
