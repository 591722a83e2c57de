import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_RETRY } from '../core/retry.js';
import { AzblobStoreOptionsSchema } from './azblob/schema.js';
import type { StoreContext } from './context.js';
import { FileStoreOptionsSchema } from './file/schema.js';
import { S3StoreOptionsSchema } from './s3/schema.js';
import type { ModelStore, StoreKind } from './types.js';

/**
 * The explicit list of model-store back ends, keyed by URL scheme. A test checks this
 * list against the back-end folders. Adding a back end = a folder with index.ts and
 * schema.ts, an entry here, and the conformance suite passing against a real server.
 */
export const storeBackends = {
  file: backend({
    optionsSchema: FileStoreOptionsSchema,
    /** file://DIR — absolute (file:///srv/models) or relative to the working directory (file://./models). */
    open: async (location) =>
      new (await import('./file/index.js')).FileModelStore(resolve(location)),
  }),
  s3: backend({
    optionsSchema: S3StoreOptionsSchema,
    /** s3://BUCKET[/PREFIX] */
    open: async (location, options, ctx) => {
      const [bucket = '', ...rest] = location.split('/');
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
        throw new ConfigError(
          `invalid S3 bucket name ${JSON.stringify(bucket)} in the store URL: expected 3-63 lowercase letters, digits, '.' or '-'`,
        );
      }
      const prefix = checkPrefix(rest);
      return new (await import('./s3/index.js')).S3ModelStore(bucket, prefix, options, ctx);
    },
  }),
  azblob: backend({
    optionsSchema: AzblobStoreOptionsSchema,
    /** azblob://ACCOUNT/CONTAINER[/PREFIX] */
    open: async (location, options, ctx) => {
      const [account = '', container = '', ...rest] = location.split('/');
      if (!/^[a-z0-9]{3,24}$/.test(account)) {
        throw new ConfigError(
          `invalid Azure storage account ${JSON.stringify(account)} in the store URL: expected 3-24 lowercase letters or digits`,
        );
      }
      if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
        throw new ConfigError(
          `invalid Azure container ${JSON.stringify(container)} in the store URL: expected 3-63 lowercase letters, digits or single '-'`,
        );
      }
      const prefix = checkPrefix(rest);
      return new (await import('./azblob/index.js')).AzblobModelStore(
        account,
        container,
        prefix,
        options,
        ctx,
      );
    },
  }),
} satisfies Record<StoreKind, StoreBackend<z.ZodType>>;

/** One back end: the schema of its options and how to open it at a location. */
export interface StoreBackend<S extends z.ZodType> {
  optionsSchema: S;
  /**
   * `location` is the URL after `scheme://`, without query; `options` are validated.
   * Async so a back end's SDK loads only when that back end is used (CLI start-up time).
   */
  open(location: string, options: z.infer<S>, ctx: StoreContext): Promise<ModelStore>;
}

function backend<S extends z.ZodType>(b: StoreBackend<S>): StoreBackend<S> {
  return b;
}

/** Options every back end takes, beside its own. */
export const CommonStoreOptionsSchema = z.object({
  /** Attempts per request, including the first. */
  retries: z.number().int().min(1).max(20).default(DEFAULT_RETRY.attempts),
  /** Connect and idle timeout per request, in seconds. */
  timeoutSeconds: z.number().positive().max(3600).default(60),
});

/** A store as configured: a URL plus options (from shipml.yaml, or URL query parameters). */
export type StoreSpec = { url: string } & Record<string, unknown>;

/** URL query parameters that may carry options (never secrets: those belong in env or config). */
const QUERY_OPTIONS: Record<string, (v: string) => unknown> = {
  endpoint: (v) => v,
  region: (v) => v,
  forcePathStyle: (v) => v === 'true',
  retries: Number,
  timeoutSeconds: Number,
};

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
      `${where}: invalid store URL ${JSON.stringify(redactUrl(spec.url))}: expected file://DIR, s3://BUCKET/PREFIX or azblob://ACCOUNT/CONTAINER/PREFIX`,
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

  if (!(scheme in storeBackends)) {
    throw new ConfigError(
      `${where}: unknown store scheme ${scheme}:// — expected one of ${Object.keys(storeBackends)
        .map((k) => `${k}://`)
        .join(', ')}`,
    );
  }
  const chosen = storeBackends[scheme as StoreKind] as StoreBackend<z.ZodType>;
  const { url: _url, ...rawOptions } = spec;
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    const convert = QUERY_OPTIONS[key];
    if (!convert) {
      throw new ConfigError(
        `${where}: store URL parameter ${JSON.stringify(key)} is not allowed: only ${Object.keys(QUERY_OPTIONS).join(', ')} (put credentials in the environment or shipml.yaml)`,
      );
    }
    rawOptions[key] = convert(value);
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

function checkPrefix(segments: string[]): string {
  const parts = segments.filter((s) => s !== '');
  if (parts.some((s) => s === '.' || s === '..'))
    throw new ConfigError(`store URL prefix must not contain '.' or '..' segments`);
  return parts.join('/');
}

/** A URL with its password removed, for messages. */
function redactUrl(url: string): string {
  return url.replace(/(\/\/[^/:@]+:)[^@/]*@/, '$1***@');
}
