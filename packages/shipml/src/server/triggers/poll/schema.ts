import { z } from 'zod';

/** Options of the `poll` trigger: `git ls-remote` of the app's repository on an interval. */
export const PollTriggerOptionsSchema = z
  .object({
    /** Seconds between checks (default 60). */
    intervalSeconds: z.number().int().min(5).max(86_400).default(60),
    /** Branches (or globs) that start runs; default: the app's branches. */
    branches: z.array(z.string().min(1)).optional(),
    /** Also run new or moved tags (default false). */
    tags: z.boolean().default(false),
  })
  .strict();
export type PollTriggerOptions = z.infer<typeof PollTriggerOptionsSchema>;
