/**
 * What the interval watches (git polling, the model-channel watch) share: a check every N
 * seconds, and a value remembered between checks in the store, validated when read back
 * (DESIGN: what ShipML wrote earlier is validated too).
 */
import type { z } from 'zod';
import type { WatchContext, WatchTrigger } from './types.js';

/** `next` of a watch that checks every `seconds`. */
export function every(seconds: number): WatchTrigger['next'] {
  return (after) => new Date(after.getTime() + seconds * 1000);
}

/**
 * The value remembered under `key`, or undefined when none was stored. A value that does not
 * read back as `schema` counts as nothing remembered: `unreadable` is logged and the check
 * remembers afresh (a corrupt value must not stop the trigger).
 */
export async function remembered<S extends z.ZodType>(
  ctx: WatchContext,
  key: string,
  schema: S,
  unreadable: string,
): Promise<z.output<S> | undefined> {
  const raw = await ctx.state.get(key);
  if (raw === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: not JSON
  }
  ctx.log(unreadable);
  return undefined;
}

/** Remembers `value` under `key` for the next check. */
export function remember(ctx: WatchContext, key: string, value: unknown): Promise<void> {
  return ctx.state.set(key, JSON.stringify(value));
}
