import type { TriggerDescriptor } from '../types.js';
import { AzureTriggerOptionsSchema } from './schema.js';

/** Azure DevOps `git.push` service hooks (Basic auth or a custom header). */
export const azure = {
  id: 'azure',
  summary: 'Azure DevOps git.push service hook (Basic auth or a custom header)',
  mode: 'webhook',
  optionsSchema: AzureTriggerOptionsSchema,
  secretOptions: ['password', 'headerValue'],
  secretEnv: [],
  ciEnv: [],
  example:
    '- type: azure\n  username: shipml\n  password: ${AZURE_HOOK_PASSWORD}\n  branches: [main]',
  open: async (options, app) => (await import('./index.js')).azureTrigger(options, app),
} as const satisfies TriggerDescriptor<typeof AzureTriggerOptionsSchema>;
