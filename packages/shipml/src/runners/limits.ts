/**
 * The server's caps on what a repository's shipml.yaml `runner:` may ask for (the server
 * config's `runnerLimits`, server-wide and per app). A pushed commit chooses its runner's
 * options; the server decides how far they may go.
 *
 * - A resource the repository asks for above its cap (cpus, memoryMiB, pids, diskMiB,
 *   scratchMiB; network `bridge` where the cap is `none`) fails the run before any command
 *   runs, with one line naming the setting, the value asked and the cap: the repository
 *   stated a need the server will not meet, and running with less would fail later and
 *   less clearly (an OOM kill minutes into the tests).
 * - A runner default above a cap (nobody asked) becomes the cap.
 * - `timeoutSeconds` is a deadline, not a resource: each command gets at most the cap (as a
 *   hosted CI's job time limit ends a job whatever its own timeout says), and a command the
 *   cap ended says so in its result's limit. The runner sees only the command's timeout,
 *   defaulted or written, so it cannot tell an ask from shipml.yaml's default (900 s).
 */
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { CommandRunner } from './types.js';

/** `runnerLimits` in the server config: each key the most a repository may ask for. */
export const RunnerLimitsSchema = z
  .object({
    cpus: z.number().positive().max(256).optional(),
    memoryMiB: z.number().int().min(32).optional(),
    pids: z.number().int().min(8).optional(),
    diskMiB: z.number().int().min(1).optional(),
    scratchMiB: z.number().int().min(1).optional(),
    /** Every command's time, at most (prepare, test, evaluate). */
    timeoutSeconds: z.number().int().min(1).optional(),
    /** `none`: no command gets a network; `bridge`: a repository may ask for the bridge. */
    network: z.enum(['none', 'bridge']).optional(),
  })
  .strict();
export type RunnerLimits = z.output<typeof RunnerLimitsSchema>;

/** The capped numeric options (a runner's options without such a key are not capped by it). */
const NUMERIC = ['cpus', 'memoryMiB', 'pids', 'diskMiB', 'scratchMiB'] as const;
const NETWORKS = ['none', 'bridge'] as const;

function overCap(key: string, asked: unknown, cap: unknown, where: string): ConfigError {
  return new ConfigError(
    `shipml.yaml runner.${key} asks for ${String(asked)}, above the server's cap of ${String(cap)} (${where}.${key})`,
    {
      hint: `ask for at most ${String(cap)} in shipml.yaml, or raise ${where}.${key} in the server config (server-wide, or the app's own)`,
    },
  );
}

/**
 * The options a runner opens with under the caps: `options` with the runner's defaults
 * applied, `asked` what shipml.yaml wrote (no defaults). Throws ConfigError when an asked
 * value is over its cap; returns the options with defaults over a cap lowered to it.
 */
export function capOptions<O extends Record<string, unknown>>(
  options: O,
  asked: Record<string, unknown>,
  limits: RunnerLimits | undefined,
  where: string,
): O {
  if (!limits) return options;
  const capped: Record<string, unknown> = { ...options };
  for (const key of NUMERIC) {
    const cap = limits[key];
    const value = options[key];
    if (cap === undefined || typeof value !== 'number' || value <= cap) continue;
    if (asked[key] !== undefined) throw overCap(key, asked[key], cap, where);
    capped[key] = cap;
  }
  const network = options.network;
  if (limits.network && typeof network === 'string') {
    const rank = (n: string) => NETWORKS.indexOf(n as (typeof NETWORKS)[number]);
    if (rank(network) > rank(limits.network)) {
      if (asked.network !== undefined)
        throw overCap('network', asked.network, limits.network, where);
      capped.network = limits.network;
    }
  }
  return capped as O;
}

/** `runner` with every command's time at most `limits.timeoutSeconds` (see the module comment). */
export function capTime(
  runner: CommandRunner,
  limits: RunnerLimits | undefined,
  where: string,
): CommandRunner {
  const cap = limits?.timeoutSeconds;
  if (cap === undefined) return runner;
  return {
    kind: runner.kind,
    run: async (input) => {
      if (input.timeoutSeconds <= cap) return runner.run(input);
      const outcome = await runner.run({ ...input, timeoutSeconds: cap });
      if (!outcome.timedOut) return outcome;
      const hit = `the server's time cap of ${cap} s (${where}.timeoutSeconds) ended it`;
      return { ...outcome, limit: outcome.limit ? `${outcome.limit}; ${hit}` : hit };
    },
  };
}
