import { z } from 'zod';
import { branchFilter, parseRef } from '../refs.js';
import type { TriggerApp, TriggerRequest, WatchContext, WatchTrigger } from '../types.js';
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
    next: (after) => new Date(after.getTime() + options.intervalSeconds * 1000),
    async check(ctx: WatchContext): Promise<TriggerRequest[]> {
      const remote = await ctx.lsRemote();
      const now: Record<string, string> = {};
      for (const [ref, commit] of remote) if (watched(ref)) now[ref] = commit;
      const before = await remembered(ctx);
      await ctx.state.set(POLL_STATE_KEY, JSON.stringify(now));
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

/** The refs of the last check; undefined when none were stored (or the value is unreadable). */
async function remembered(ctx: WatchContext): Promise<Record<string, string> | undefined> {
  const raw = await ctx.state.get(POLL_STATE_KEY);
  if (raw === undefined) return undefined;
  try {
    const parsed = RefsSchema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: treat a corrupt value as nothing remembered
  }
  ctx.log('poll: the remembered refs were unreadable; remembering afresh');
  return undefined;
}
