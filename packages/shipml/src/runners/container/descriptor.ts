import type { RunnerDescriptor } from '../types.js';
import { ContainerRunnerOptionsSchema } from './schema.js';

/** An isolated container on the Docker Engine: the default under `shipml server`. */
export const container = {
  id: 'container',
  summary:
    'an isolated container on the Docker Engine: only the checkout, the model (read-only) and a scratch; no secrets it did not ask for',
  optionsSchema: ContainerRunnerOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example:
    'runner:\n  kind: container\n  image: ghcr.io/acme/node-build:24\n  network: bridge\n  memoryMiB: 4096',
  open: async (options, ctx) => (await import('./index.js')).openContainerRunner(options, ctx),
} as const satisfies RunnerDescriptor<typeof ContainerRunnerOptionsSchema>;
