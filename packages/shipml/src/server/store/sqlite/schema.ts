import { z } from 'zod';

/** Options of the SQLite service store (`sqlite:PATH`). */
export const SqliteStoreOptionsSchema = z.object({
  /** How long a writer waits for another process's write transaction before failing (retryable). */
  busyTimeoutMs: z.number().int().min(0).max(600_000).default(5000),
});
export type SqliteStoreOptions = z.infer<typeof SqliteStoreOptionsSchema>;
