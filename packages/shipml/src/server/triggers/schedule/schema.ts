import { Cron } from 'croner';
import { z } from 'zod';

// croner is small and pure (no I/O, no dependencies): validating the expression here makes a
// bad cron a config error naming the option, not a failure at the first fire.

/** Options of the `schedule` trigger: a cron expression in a time zone. */
export const ScheduleTriggerOptionsSchema = z
  .object({
    /** Names the schedule (fires are claimed per app and id); default `ACTION:CRON`. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/, 'expected letters, digits, ".", "_", ":" or "-"')
      .optional(),
    /** 5 fields (minute hour day month weekday) or 6 with seconds first, as croner reads it. */
    cron: z
      .string()
      .min(1)
      .max(200)
      .superRefine((cron, ctx) => {
        const problem = cronProblem(cron);
        if (problem)
          ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${problem}` });
      }),
    /** An IANA time zone (Europe/Berlin); default UTC. */
    timezone: z
      .string()
      .min(1)
      .default('UTC')
      .refine(isTimeZone, 'unknown time zone: expected an IANA name such as Europe/Berlin or UTC'),
    /** `release` (default): deploy the newest successful build of the branch; `run`: build and ship the branch head. */
    action: z.enum(['release', 'run']).default('release'),
    /** The branch; default: the app's first branch. */
    branch: z.string().min(1).optional(),
  })
  .strict();
export type ScheduleTriggerOptions = z.infer<typeof ScheduleTriggerOptionsSchema>;

/** The id a schedule's fires are claimed under: its `id`, else `ACTION:CRON`. */
export function scheduleId(
  options: Pick<ScheduleTriggerOptions, 'id' | 'action' | 'cron'>,
): string {
  return options.id ?? `${options.action}:${options.cron}`;
}

function cronProblem(cron: string): string | undefined {
  try {
    new Cron(cron, { paused: true, timezone: 'UTC' });
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^CronPattern:\s*/, '');
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
