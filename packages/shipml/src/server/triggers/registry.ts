import { z } from 'zod';
import { defineRegistry } from '../../core/registry.js';
import { azure } from './azure/descriptor.js';
import { generic } from './generic/descriptor.js';
import { github } from './github/descriptor.js';
import { modelWatch } from './model-watch/descriptor.js';
import { poll } from './poll/descriptor.js';
import { schedule } from './schedule/descriptor.js';
import { scheduleId } from './schedule/schema.js';
import type { Trigger, TriggerApp, TriggerDescriptor } from './types.js';

/**
 * The trigger back ends, webhooks first. Adding one = a folder with schema.ts,
 * descriptor.ts, index.ts and README.md, its entry here, and its cases in
 * test/server-triggers.test.ts (README.md: "Adding a trigger"). A test checks this list
 * against the folders.
 */
export const triggers = defineRegistry('trigger', [
  github,
  azure,
  generic,
  poll,
  modelWatch,
  schedule,
]);

/**
 * The schema of one entry, derived from the registry: a union discriminated by `type`, each
 * member a back end's own options schema with its `type` (safeExtend keeps refinements, such
 * as azure's "one way to authenticate"). Spelled per back end so each keeps its static type;
 * a test checks the members against the registry.
 */
export const TriggerConfigSchema = z.discriminatedUnion('type', [
  github.optionsSchema.safeExtend({ type: z.literal(github.id) }),
  azure.optionsSchema.safeExtend({ type: z.literal(azure.id) }),
  generic.optionsSchema.safeExtend({ type: z.literal(generic.id) }),
  poll.optionsSchema.safeExtend({ type: z.literal(poll.id) }),
  modelWatch.optionsSchema.safeExtend({ type: z.literal(modelWatch.id) }),
  schedule.optionsSchema.safeExtend({ type: z.literal(schedule.id) }),
]);

/**
 * The schema of an app's `triggers:` list. One trigger of each type per app, except
 * schedules, of which there may be several with distinct ids (a nightly release and a
 * weekly run): webhooks are addressed by type, and two pollers of one repository would
 * only race.
 */
export const TriggerListSchema = z.array(TriggerConfigSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    const key = entry.type === 'schedule' ? `schedule ${scheduleId(entry)}` : entry.type;
    if (seen.has(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, entry.type === 'schedule' ? 'id' : 'type'],
        message:
          entry.type === 'schedule'
            ? `a second schedule with id ${scheduleId(entry)}: give each schedule its own id`
            : `a second ${entry.type} trigger: one of each type per app`,
      });
    }
    seen.add(key);
  });
});

/** One entry of an app's `triggers:` list: `type` plus that back end's own options. */
export type TriggerConfig = z.infer<typeof TriggerConfigSchema>;

/** Opens the trigger an entry names, for one app (validated options, minus `type`). */
export async function openTrigger(config: TriggerConfig, app: TriggerApp): Promise<Trigger> {
  const { type, ...options } = config;
  const descriptor: TriggerDescriptor = triggers.get(type);
  return descriptor.open(options, app);
}
