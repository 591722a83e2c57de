import type { TriggerDescriptor } from '../types.js';
import { ModelWatchTriggerOptionsSchema } from './schema.js';

/** Watches the app's model channel: a new version runs the live commit with it. */
export const modelWatch = {
  id: 'model-watch',
  summary: 'Model channel watch (conditional reads): a new version runs the live commit',
  mode: 'watch',
  optionsSchema: ModelWatchTriggerOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: '- type: model-watch\n  intervalSeconds: 30',
  open: async (options, app) => (await import('./index.js')).modelWatchTrigger(options, app),
} as const satisfies TriggerDescriptor<typeof ModelWatchTriggerOptionsSchema>;
