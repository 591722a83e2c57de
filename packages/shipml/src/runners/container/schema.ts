import { z } from 'zod';

/** The container runner's keys of shipml.yaml `runner:`. */
export const ContainerRunnerOptionsSchema = z.object({
  /** The image the commands run in (needs `sh`); default build.base. */
  image: z.string().min(1).optional(),
  /** `none` (default): no network at all; `bridge`: the engine's default bridge (e.g. for npm ci). */
  network: z.enum(['none', 'bridge']).default('none'),
  cpus: z.number().positive().max(256).default(2),
  memoryMiB: z.number().int().min(32).max(1_048_576).default(2048),
  /** Processes and threads at once (a fork bomb stops here). */
  pids: z.number().int().min(8).max(1_000_000).default(512),
  /** What the command may add to the checkout's file system (node_modules, build output). */
  diskMiB: z.number().int().min(1).max(16_777_216).default(8192),
  /** Size of the writable scratch: /tmp and HOME (/scratch), in memory, counted in memoryMiB. */
  scratchMiB: z.number().int().min(1).max(1_048_576).default(512),
  /** uid:gid the command runs as; never root. */
  user: z
    .string()
    .regex(/^\d+:\d+$/, 'expected uid:gid, e.g. 65532:65532')
    .refine((u) => !u.startsWith('0:'), 'the command never runs as root (uid 0)')
    .default('65532:65532'),
});
export type ContainerRunnerOptions = z.output<typeof ContainerRunnerOptionsSchema>;
