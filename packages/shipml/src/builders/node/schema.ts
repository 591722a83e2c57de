import { z } from 'zod';

/** The node builder's keys of shipml.yaml `build:` (beside the shared ones). */
export const NodeBuilderOptionsSchema = z.object({
  /** Base image: a registry reference or oci:DIR[:name] (required to build; checked then). */
  base: z.string().min(1).optional(),
  /** Where the app lives in the image. */
  workdir: z.string().min(1).default('/app'),
  /** Files and directories (relative to context) for the app layer; default: all but node_modules, .git, .shipml. */
  include: z.array(z.string().min(1)).optional(),
  /**
   * Leave other platforms' prebuilt binaries out of the dependency layer (the platform is the
   * base image's); default true. `false` keeps node_modules exactly as installed.
   */
  prunePlatforms: z.boolean().optional(),
});
export type NodeBuilderOptions = z.output<typeof NodeBuilderOptionsSchema>;
