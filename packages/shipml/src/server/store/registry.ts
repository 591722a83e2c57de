/**
 * The service-store back ends, and opening one from its URL: `sqlite:PATH` (or a bare path),
 * `postgres://…` or `postgresql://…`. Importing this loads neither libsql nor pg.
 */
import { ConfigError } from '../../core/errors.js';
import { defineRegistry } from '../../core/registry.js';
import { postgres } from './postgres/descriptor.js';
import { sqlite } from './sqlite/descriptor.js';
import type { ServiceStore, ServiceStoreDescriptor } from './types.js';

/** sqlite first: the default (the data directory's service.db). */
export const serviceStores = defineRegistry('service store', [sqlite, postgres]);

export interface OpenServiceStoreOptions {
  /** Where the URL came from, for errors (`server.yaml: store`, `--store`). */
  where?: string;
  /** The chosen back end's options (sqlite: busyTimeoutMs; postgres: poolSize, ...). */
  options?: Record<string, unknown>;
  /** Apply migrations on open (default true). */
  migrate?: boolean;
}

/**
 * Opens (and by default migrates) the store a URL names. A URL that names no back end, or
 * bad options, is a ConfigError; an unreachable database an ExternalServiceError (retryable).
 * No error repeats a postgres URL: it may carry the password.
 */
export async function openServiceStore(
  url: string,
  { where = 'service store', options = {}, migrate = true }: OpenServiceStoreOptions = {},
): Promise<ServiceStore> {
  const descriptor: ServiceStoreDescriptor | undefined = serviceStores.all.find((d) =>
    d.matches(url),
  );
  if (!descriptor)
    throw new ConfigError(
      `${where}: unknown store URL scheme: expected ${serviceStores.all.map((d) => d.urlForm).join(' or ')}`,
    );
  const parsed = descriptor.optionsSchema.safeParse(options);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; '),
    );
  const store = await descriptor.open(url, parsed.data);
  if (migrate) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }
  return store;
}

/** The default store URL: service.db in the data directory. */
export function defaultServiceStoreUrl(dataDir: string): string {
  return `sqlite:${dataDir.replace(/\/$/, '')}/service.db`;
}
