import { z } from 'zod';

/** Options of the `github` trigger (a push webhook). */
export const GithubTriggerOptionsSchema = z
  .object({
    /** The webhook's secret (`${VAR}` in the server config): X-Hub-Signature-256 is checked with it. */
    secret: z.string().min(1),
    /** Branches (or globs: `release/*`, `feature/**`) that start runs; default: the app's branches. */
    branches: z.array(z.string().min(1)).optional(),
    /** Also run pushed tags (default false). Branch deletions never run. */
    tags: z.boolean().default(false),
  })
  .strict();
export type GithubTriggerOptions = z.infer<typeof GithubTriggerOptionsSchema>;

/**
 * The part of GitHub's push event payload a trigger reads
 * (https://docs.github.com/webhooks/webhook-events-and-payloads#push); the rest passes.
 */
export const GithubPushPayloadSchema = z.object({
  ref: z.string().min(1).max(1024),
  after: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/),
  deleted: z.boolean().optional(),
  pusher: z
    .object({ name: z.string().max(256).optional() })
    .loose()
    .optional(),
});
