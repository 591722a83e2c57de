import type { ServiceStoreDescriptor } from '../types.js';
import { PostgresStoreOptionsSchema } from './schema.js';

/** `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (or postgresql://): to scale out to several workers. */
export const postgres = {
  id: 'postgres',
  summary: 'a PostgreSQL database shared by the server and its workers (scale-out)',
  urlForm: 'postgres://USER:PASSWORD@HOST:PORT/DATABASE',
  optionsSchema: PostgresStoreOptionsSchema,
  secretOptions: ['password'],
  // pg falls back to PGPASSWORD when the URL has no password.
  secretEnv: ['PGPASSWORD'],
  ciEnv: [],
  example: 'postgres://shipml:${SHIPML_DB_PASSWORD}@db.internal:5432/shipml',
  matches: (url) => /^postgres(ql)?:\/\//i.test(url),
  open: async (url, options) => (await import('./index.js')).openPostgresStore(url, options),
} as const satisfies ServiceStoreDescriptor<typeof PostgresStoreOptionsSchema>;
