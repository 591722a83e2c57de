import type { BuilderDescriptor } from '../types.js';
import { DockerfileBuilderOptionsSchema } from './schema.js';

/** Any app with a Dockerfile: BuildKit builds the app, ShipML appends the model layer. */
export const dockerfile = {
  id: 'dockerfile',
  summary: 'any app with a Dockerfile: BuildKit builds the app, ShipML appends the model layer',
  optionsSchema: DockerfileBuilderOptionsSchema,
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example:
    'build:\n  kind: dockerfile\n  dockerfile: Dockerfile\n  args: { BASE: python:3.12-slim }',
  open: async () => (await import('./index.js')).dockerfileBuilder,
} as const satisfies BuilderDescriptor<typeof DockerfileBuilderOptionsSchema>;
