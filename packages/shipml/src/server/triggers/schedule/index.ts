import { Cron } from 'croner';
import type { TriggerApp, TriggerRequest, WatchContext, WatchTrigger } from '../types.js';
import { scheduleId, type ScheduleTriggerOptions } from './schema.js';

/**
 * A cron schedule. `next` is croner's next fire in the schedule's time zone (DST handled
 * there: a time skipped in spring fires at the first valid time after it, a time repeated in
 * autumn fires once). Each fire is claimed through the store first, so with several server
 * processes exactly one queues it. A release deploys the newest successful build of the
 * branch (none yet: nothing, logged); a run builds the branch head.
 */
export function scheduleTrigger(options: ScheduleTriggerOptions, app: TriggerApp): WatchTrigger {
  const cron = new Cron(options.cron, { paused: true, timezone: options.timezone });
  const id = scheduleId(options);
  const label = `${id} (${options.cron} ${options.timezone})`;
  const branch = options.branch ?? app.branches[0];
  return {
    mode: 'watch',
    next(after: Date): Date | undefined {
      const fire = cron.nextRun(after);
      // croner answers strictly after `after` at whole seconds; guard the promise anyway.
      return fire && fire.getTime() > after.getTime() ? fire : undefined;
    },
    async check(ctx: WatchContext, at: Date): Promise<TriggerRequest[]> {
      if (!(await ctx.claimFire(id, at))) return [];
      const cause = {
        trigger: 'schedule',
        source: 'schedule',
        schedule: label,
        detail: `fire at ${at.toISOString()}`,
      } as const;
      if (options.action === 'run') return [{ kind: 'run', cause, branch }];
      const image = await ctx.lastSuccessfulImage(branch);
      if (!image) {
        ctx.log(`schedule ${label}: no successful build of ${branch ?? 'the app'} to release yet`);
        return [];
      }
      return [{ kind: 'release', cause, branch, image }];
    },
  };
}
