import type { ServiceStoreDescriptor } from '../types.js';
import { SqliteStoreOptionsSchema } from './schema.js';

/** `sqlite:PATH` (or a bare path): one file in the data directory, the embedded default. */
export const sqlite = {
  id: 'sqlite',
  summary: 'one SQLite file in the data directory (the default; one machine)',
  urlForm: 'sqlite:PATH',
  optionsSchema: SqliteStoreOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: 'sqlite:/var/lib/shipml/service.db',
  matches: (url) => url.startsWith('sqlite:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url),
  open: async (url, options) => (await import('./index.js')).openSqliteStore(url, options),
} as const satisfies ServiceStoreDescriptor<typeof SqliteStoreOptionsSchema>;
