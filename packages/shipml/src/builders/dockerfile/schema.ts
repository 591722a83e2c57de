import { z } from 'zod';

/** The dockerfile builder's keys of shipml.yaml `build:` (beside the shared ones). */
export const DockerfileBuilderOptionsSchema = z.object({
  /** The Dockerfile, relative to the context. It must not copy the model: ShipML appends it. */
  dockerfile: z.string().min(1).default('Dockerfile'),
  /** Build arguments (`--build-arg NAME=value`). */
  args: z.record(z.string(), z.string()).optional(),
});
export type DockerfileBuilderOptions = z.output<typeof DockerfileBuilderOptionsSchema>;
