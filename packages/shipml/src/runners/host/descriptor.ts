import type { RunnerDescriptor } from '../types.js';
import { HostRunnerOptionsSchema } from './schema.js';

/** A process on this machine, with ShipML's environment: a developer's machine, a CI job. */
export const host = {
  id: 'host',
  summary:
    "a process on this machine with ShipML's environment (a developer's machine, or a CI job that is already isolated)",
  optionsSchema: HostRunnerOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: 'runner:\n  kind: host',
  open: async (_options, ctx) => (await import('./index.js')).hostRunner(ctx),
} as const satisfies RunnerDescriptor<typeof HostRunnerOptionsSchema>;
