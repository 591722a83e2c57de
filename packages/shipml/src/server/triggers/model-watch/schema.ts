import { z } from 'zod';

/**
 * Options of the `model-watch` trigger: the app's model channel (from its shipml.yaml),
 * polled with conditional reads.
 */
export const ModelWatchTriggerOptionsSchema = z
  .object({
    /** Seconds between checks (default 30): a conditional read each, no bytes while unchanged. */
    intervalSeconds: z.number().int().min(1).max(86_400).default(30),
  })
  .strict();
export type ModelWatchTriggerOptions = z.infer<typeof ModelWatchTriggerOptionsSchema>;
