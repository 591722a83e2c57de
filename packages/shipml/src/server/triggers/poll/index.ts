import { z } from 'zod';
import { branchFilter, parseRef } from '../refs.js';
import type { TriggerApp, TriggerRequest, WatchContext, WatchTrigger } from '../types.js';
import { every, remember, remembered } from '../watch-state.js';
import type { PollTriggerOptions } from './schema.js';

/** The state key: the refs seen at the last check (ref name → commit), as JSON. */
export const POLL_STATE_KEY = 'poll.refs';
const RefsSchema = z.record(z.string(), z.string());

/**
 * Polls the app's repository. A ref whose commit changed since the last check (any change:
 * fast-forward or force push) or a new ref the filter matches queues a run of that commit;
 * deleted refs are forgotten. With nothing remembered yet (a new app, a fresh store) the
 * first check only remembers, so adding a trigger never starts a build per branch.
 */
export function pollTrigger(options: PollTriggerOptions, app: TriggerApp): WatchTrigger {
  const filter = branchFilter(options.branches, app.branches);
  const watched = (ref: string): boolean => {
    const parsed = parseRef(ref);
    if (parsed.kind === 'branch') return filter.matches(parsed.name);
    return parsed.kind === 'tag' && options.tags;
  };
  return {
    mode: 'watch',
    next: every(options.intervalSeconds),
    async check(ctx: WatchContext): Promise<TriggerRequest[]> {
      const remote = await ctx.lsRemote();
      const now: Record<string, string> = {};
      for (const [ref, commit] of remote) if (watched(ref)) now[ref] = commit;
      const before = await remembered(
        ctx,
        POLL_STATE_KEY,
        RefsSchema,
        'poll: the remembered refs were unreadable; remembering afresh',
      );
      await remember(ctx, POLL_STATE_KEY, now);
      if (before === undefined) {
        ctx.log(`poll: remembering ${Object.keys(now).length} refs (first check)`);
        return [];
      }
      const requests: TriggerRequest[] = [];
      for (const [ref, commit] of Object.entries(now)) {
        const old = before[ref];
        if (old === commit) continue;
        const parsed = parseRef(ref);
        requests.push({
          kind: 'run',
          cause: {
            trigger: 'commit',
            source: 'poll',
            detail: `${ref} ${old ? old.slice(0, 12) : '(new)'} -> ${commit.slice(0, 12)}`,
          },
          branch: parsed.kind === 'branch' ? parsed.name : undefined,
          commit,
        });
      }
      return requests;
    },
  };
}
