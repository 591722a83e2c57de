import type { TriggerDescriptor } from '../types.js';
import { GithubTriggerOptionsSchema } from './schema.js';

/** GitHub push webhooks, signed with X-Hub-Signature-256. */
export const github = {
  id: 'github',
  summary: 'GitHub push webhook (X-Hub-Signature-256)',
  mode: 'webhook',
  optionsSchema: GithubTriggerOptionsSchema,
  secretOptions: ['secret'],
  secretEnv: [],
  ciEnv: [],
  example: "- type: github\n  secret: ${GITHUB_WEBHOOK_SECRET}\n  branches: [main, 'release/*']",
  open: async (options, app) => (await import('./index.js')).githubTrigger(options, app),
} as const satisfies TriggerDescriptor<typeof GithubTriggerOptionsSchema>;
