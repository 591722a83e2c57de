import { z } from 'zod';
import type { TriggerApp, TriggerRequest, WatchContext, WatchTrigger } from '../types.js';
import { every, remember, remembered } from '../watch-state.js';
import type { ModelWatchTriggerOptions } from './schema.js';

/** The state key: the channel as last seen (`{ etag, version }`, version null when absent). */
export const MODEL_WATCH_STATE_KEY = 'model-watch.channel';
const SeenSchema = z.object({ etag: z.string().optional(), version: z.string().nullable() });
type Seen = z.infer<typeof SeenSchema>;

/**
 * Watches the app's model channel. Each check is one conditional read (the remembered ETag):
 * `unchanged` costs nothing more. When the channel's version moves, it queues a run of the
 * commit live in production (the branch head of the app's first branch if nothing is live)
 * with the new version, trigger `model`. A rewrite of the pointer that keeps the version
 * (a re-promote) starts nothing. The first check with nothing remembered only remembers.
 */
export function modelWatchTrigger(
  options: ModelWatchTriggerOptions,
  app: TriggerApp,
): WatchTrigger {
  return {
    mode: 'watch',
    next: every(options.intervalSeconds),
    async check(ctx: WatchContext): Promise<TriggerRequest[]> {
      const before = await remembered(
        ctx,
        MODEL_WATCH_STATE_KEY,
        SeenSchema,
        'model-watch: the remembered channel state was unreadable; remembering afresh',
      );
      const read = await ctx.readModelChannel(before?.etag);
      if (read.status === 'unchanged') return [];
      const seen: Seen =
        read.status === 'found' ? { etag: read.etag, version: read.version } : { version: null };
      await remember(ctx, MODEL_WATCH_STATE_KEY, seen);
      const model = read.model ?? 'model';
      const channel = read.channel ?? 'channel';
      if (before === undefined) {
        ctx.log(`model-watch: ${model}:${channel} is at ${seen.version ?? '(none)'} (first check)`);
        return [];
      }
      if (read.status !== 'found' || seen.version === before.version) return [];
      if (read.model === undefined) {
        ctx.log(`model-watch: ${channel} moved to ${read.version} but the app names no model`);
        return [];
      }
      const live = await ctx.liveCommit();
      return [
        {
          kind: 'run',
          cause: {
            trigger: 'model',
            source: 'model-watch',
            detail: `model ${model} ${channel} ${before.version ?? '(none)'} -> ${read.version}`,
          },
          branch: live ? (live.branch ?? app.branches[0]) : app.branches[0],
          commit: live?.commit,
          modelRef: `${model}@${read.version}`,
        },
      ];
    },
  };
}
