import type { BuilderDescriptor } from '../types.js';
import { NodeBuilderOptionsSchema } from './schema.js';

/** The native Node.js builder: base image + production node_modules + app files, no Docker daemon. */
export const node = {
  id: 'node',
  summary: 'Node.js apps, natively (no Docker daemon): base + dependencies + app + model layers',
  optionsSchema: NodeBuilderOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example:
    'build:\n  kind: node\n  base: ghcr.io/acme/node:24\n  include: [package.json, package-lock.json, dist]\n  cmd: [node, dist/main.js]',
  open: async () => (await import('./index.js')).nodeBuilder,
} as const satisfies BuilderDescriptor<typeof NodeBuilderOptionsSchema>;
