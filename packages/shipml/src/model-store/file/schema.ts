import { z } from 'zod';

/** Options of the `file://DIR` store (none beyond the URL today). */
export const FileStoreOptionsSchema = z.object({}).strict();
export type FileStoreOptions = z.infer<typeof FileStoreOptionsSchema>;
