/**
 * Opens the runner a run uses: the kind its caller decides (`--runner`, the server's app
 * config) over shipml.yaml's `runner.kind`, with shipml.yaml's options for that kind.
 */
import { ConfigError } from '../core/errors.js';
import type { RunnerConfig } from './config-schema.js';
import { runners } from './registry.js';
import type { CommandRunner, RunnerContext } from './types.js';

export async function openRunner(
  config: RunnerConfig | undefined,
  choice: { kind?: string | undefined; where: string } | undefined,
  ctx: RunnerContext,
): Promise<CommandRunner> {
  const kind = choice?.kind ?? config?.kind ?? runners.ids[0];
  const descriptor = runners.get(kind, choice?.kind ? choice.where : 'shipml.yaml: runner.kind');
  // Options written for another kind do not apply (shipml.yaml may say host, the server container).
  const { kind: written, ...rest } = config ?? { kind };
  const parsed = descriptor.optionsSchema.safeParse(written === kind ? rest : {});
  if (!parsed.success)
    throw new ConfigError(
      parsed.error.issues.map((i) => `runner.${i.path.join('.')}: ${i.message}`).join('; '),
    );
  return descriptor.open(parsed.data as never, ctx);
}
