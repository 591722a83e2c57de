import type { TriggerDescriptor } from '../types.js';
import { GenericTriggerOptionsSchema } from './schema.js';

/** A signed JSON hook (X-Shipml-Signature) for any git host or script. */
export const generic = {
  id: 'generic',
  summary: 'Generic JSON hook signed with HMAC-SHA256 (X-Shipml-Signature)',
  mode: 'webhook',
  optionsSchema: GenericTriggerOptionsSchema,
  secretOptions: ['secret'],
  secretEnv: [],
  ciEnv: [],
  example: '- type: generic\n  secret: ${SHIPML_HOOK_SECRET}',
  open: async (options, app) => (await import('./index.js')).genericTrigger(options, app),
} as const satisfies TriggerDescriptor<typeof GenericTriggerOptionsSchema>;
