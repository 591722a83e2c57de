/**
 * Opens the runner a run uses: the kind its caller decides (`--runner`, the server's app
 * config) over shipml.yaml's `runner.kind`, with shipml.yaml's options for that kind under
 * the caller's caps (the server's `runnerLimits`, limits.ts).
 */
import { ConfigError } from '../core/errors.js';
import type { RunnerConfig } from './config-schema.js';
import { capOptions, capTime, type RunnerLimits } from './limits.js';
import { runners } from './registry.js';
import type { CommandRunner, RunnerContext } from './types.js';

/** What the caller decides over shipml.yaml. */
export interface RunnerChoice {
  kind?: string | undefined;
  /** Where the choice was made, for messages (`--runner`, `apps[digits].runner`). */
  where: string;
  /** The most shipml.yaml may ask for (the server: its app's runnerLimits). */
  limits?: RunnerLimits | undefined;
  /** Where the limits were set, for messages; default `runnerLimits`. */
  limitsWhere?: string | undefined;
}

export async function openRunner(
  config: RunnerConfig | undefined,
  choice: RunnerChoice | undefined,
  ctx: RunnerContext,
): Promise<CommandRunner> {
  const kind = choice?.kind ?? config?.kind ?? runners.ids[0];
  const descriptor = runners.get(kind, choice?.kind ? choice.where : 'shipml.yaml: runner.kind');
  // Options written for another kind do not apply (shipml.yaml may say host, the server container).
  const { kind: written, ...rest } = config ?? { kind };
  const asked = written === kind ? rest : {};
  const parsed = descriptor.optionsSchema.safeParse(asked);
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => `runner.${i.path.join('.')}: ${i.message}`).join('; '),
    );
  const where = choice?.limitsWhere ?? 'runnerLimits';
  const options = capOptions(parsed.data as Record<string, unknown>, asked, choice?.limits, where);
  return capTime(await descriptor.open(options as never, ctx), choice?.limits, where);
}
