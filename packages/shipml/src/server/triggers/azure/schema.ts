import { z } from 'zod';

/**
 * Options of the `azure` trigger (an Azure DevOps `git.push` service hook). The hook
 * authenticates with Basic auth (`username` + `password`, set in the subscription's
 * "Basic authentication" fields) or a custom header (`header` + `headerValue`, set in its
 * "HTTP headers" field): exactly one of the two.
 */
export const AzureTriggerOptionsSchema = z
  .object({
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** A header name, e.g. X-Shipml-Token (case does not matter). */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,100}$/, 'expected an HTTP header name')
      .optional(),
    headerValue: z.string().min(1).optional(),
    /** Branches (or globs) that start runs; default: the app's branches. */
    branches: z.array(z.string().min(1)).optional(),
    /** Also run pushed tags (default false). Branch deletions never run. */
    tags: z.boolean().default(false),
  })
  .strict()
  .refine(
    (o) =>
      (o.username !== undefined && o.password !== undefined) !==
      (o.header !== undefined && o.headerValue !== undefined),
    { message: 'set either username and password (Basic auth) or header and headerValue' },
  )
  .refine((o) => (o.username === undefined) === (o.password === undefined), {
    message: 'username and password must be set together',
  })
  .refine((o) => (o.header === undefined) === (o.headerValue === undefined), {
    message: 'header and headerValue must be set together',
  });
export type AzureTriggerOptions = z.infer<typeof AzureTriggerOptionsSchema>;

/**
 * The envelope of every service-hook event
 * (https://learn.microsoft.com/azure/devops/service-hooks/events): its `id` identifies the event.
 */
export const AzureEventSchema = z.object({
  id: z.string().min(1).max(200),
  eventType: z.string().max(200),
  resource: z.unknown().optional(),
});

/** The `resource` of a `git.push` event, as far as a trigger reads it. */
export const AzurePushResourceSchema = z.object({
  refUpdates: z
    .array(
      z.object({
        name: z.string().min(1).max(1024),
        newObjectId: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/),
      }),
    )
    .max(1000),
  pushedBy: z
    .object({
      displayName: z.string().max(256).optional(),
      uniqueName: z.string().max(256).optional(),
    })
    .loose()
    .optional(),
});
