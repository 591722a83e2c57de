import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { defineRegistry } from '../core/registry.js';
import { DEFAULT_RETRY } from '../core/retry.js';
import { azblob } from './azblob/descriptor.js';
import type { StoreContext } from './context.js';
import { file } from './file/descriptor.js';
import { s3 } from './s3/descriptor.js';
import type { ModelStore, StoreDescriptor } from './types.js';

/**
 * The model-store back ends, keyed by URL scheme. Adding one = a folder with schema.ts,
 * descriptor.ts, index.ts and README.md, its entry here, and the conformance suite
 * (shipml/testing) passing against a real server. A test checks this list against the folders.
 */
export const modelStores = defineRegistry('model store', [file, s3, azblob]);

/** Options every back end takes, beside its own (and as URL parameters too). */
export const CommonStoreOptionsSchema = z.object({
  /** Attempts per request, including the first. */
  retries: z.number().int().min(1).max(20).default(DEFAULT_RETRY.attempts),
  /** Connect and idle timeout per request, in seconds. */
  timeoutSeconds: z.number().positive().max(3600).default(60),
});
const COMMON_PARAMETERS = { retries: 'number', timeoutSeconds: 'number' } as const;

/** A store as configured: a URL plus options (from shipml.yaml, or URL query parameters). */
export type StoreSpec = { url: string } & Record<string, unknown>;

/** `file://DIR, s3://BUCKET/PREFIX or azblob://ACCOUNT/CONTAINER/PREFIX`, for help and errors. */
export function storeUrlForms(separator = ', '): string {
  return modelStores.all.map((d) => d.urlForm).join(separator);
}

/**
 * Opens the store a spec names. `where` says where the spec came from (for example
 * `shipml.yaml: model.store`), so option errors point at the right place.
 */
export async function openModelStore(
  spec: StoreSpec,
  env: NodeJS.ProcessEnv,
  where = 'store',
): Promise<ModelStore> {
  const match = /^([a-z0-9]+):\/\/([^?#]*)(?:\?([^#]*))?$/.exec(spec.url);
  if (!match) {
    throw new ConfigError(
      `${where}: invalid store URL ${JSON.stringify(redactUrl(spec.url))}: expected ${storeUrlForms(' or ')}`,
    );
  }
  const [, scheme = '', location = '', query] = match;
  if (/^[^/]*@/.test(location)) {
    // Never echo it: whatever sits before the '@' is probably a password.
    throw new ConfigError(
      `${where}: store URLs must not carry credentials (user:password@ or key@)`,
      {
        hint: 'put credentials in the environment or in shipml.yaml with ${VAR} interpolation',
      },
    );
  }
  if (!modelStores.has(scheme)) {
    throw new ConfigError(
      `${where}: unknown store scheme ${scheme}:// — expected one of ${modelStores.ids.map((k) => `${k}://`).join(', ')}`,
    );
  }
  const chosen: StoreDescriptor = modelStores.get(scheme);
  const { url: _url, ...rawOptions } = spec;
  const parameters: Record<string, string> = { ...chosen.urlParameters, ...COMMON_PARAMETERS };
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    const type = parameters[key];
    if (!type) {
      throw new ConfigError(
        `${where}: store URL parameter ${JSON.stringify(key)} is not allowed for ${scheme}://: only ${Object.keys(parameters).join(', ')} (put credentials in the environment or shipml.yaml)`,
      );
    }
    rawOptions[key] =
      type === 'boolean' ? value === 'true' : type === 'number' ? Number(value) : value;
  }
  const { retries, timeoutSeconds, ...backendOptions } = rawOptions;
  const common = parseOptions(CommonStoreOptionsSchema, { retries, timeoutSeconds }, where);
  const ctx: StoreContext = {
    env,
    retry: { ...DEFAULT_RETRY, attempts: common.retries },
    timeoutMs: common.timeoutSeconds * 1000,
  };
  if (!location) throw new ConfigError(`${where}: ${scheme}:// store URL needs a location`);
  return chosen.open(location, parseOptions(chosen.optionsSchema, backendOptions, where), ctx);
}

/** The embedded default store: $XDG_DATA_HOME/shipml/models, else ~/.local/share/shipml/models. */
export function defaultStoreUrl(env: NodeJS.ProcessEnv = process.env): string {
  return `file://${join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'shipml', 'models')}`;
}

function parseOptions<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; '),
  );
}

/** A URL with its password removed, for messages. */
function redactUrl(url: string): string {
  return url.replace(/(\/\/[^/:@]+:)[^@/]*@/, '$1***@');
}
