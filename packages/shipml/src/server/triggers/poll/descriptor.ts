import type { TriggerDescriptor } from '../types.js';
import { PollTriggerOptionsSchema } from './schema.js';

/** Git polling: `git ls-remote` on an interval, for repositories without webhooks. */
export const poll = {
  id: 'poll',
  summary: 'Git polling (git ls-remote on an interval; force pushes included)',
  mode: 'watch',
  optionsSchema: PollTriggerOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: '- type: poll\n  intervalSeconds: 60',
  open: async (options, app) => (await import('./index.js')).pollTrigger(options, app),
} as const satisfies TriggerDescriptor<typeof PollTriggerOptionsSchema>;
