import { z } from 'zod';

/** Options of the PostgreSQL service store (`postgres://…`). */
export const PostgresStoreOptionsSchema = z.object({
  /** Connections per process (each worker process has its own pool). */
  poolSize: z.number().int().min(1).max(200).default(10),
  /** How long to wait for a connection (a new one, or a free one from the pool). */
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
  /** A statement running longer than this is cancelled by the server (0: no limit). */
  statementTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
});
export type PostgresStoreOptions = z.infer<typeof PostgresStoreOptionsSchema>;
