import type { TriggerDescriptor } from '../types.js';
import { ScheduleTriggerOptionsSchema } from './schema.js';

/** Cron schedules with time zones: the nightly release, or a scheduled run. */
export const schedule = {
  id: 'schedule',
  summary: 'Cron schedule with a time zone: release the newest build, or run the branch head',
  mode: 'watch',
  optionsSchema: ScheduleTriggerOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: "- type: schedule\n  cron: '0 2 * * *'\n  timezone: Europe/Berlin\n  action: release",
  open: async (options, app) => (await import('./index.js')).scheduleTrigger(options, app),
} as const satisfies TriggerDescriptor<typeof ScheduleTriggerOptionsSchema>;
