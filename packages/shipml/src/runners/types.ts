/**
 * The CommandRunner contract: how the pipeline runs the app's own commands (prepare, test,
 * evaluate). Every runner (the host's processes, an isolated container) implements exactly
 * this, and one conformance suite (conformance.ts) holds each of them to it:
 *
 * - the command runs by `sh -c` in the checkout, which it may write (node_modules, dist);
 * - the verified model is readable at MODEL_PATH (read-only where the runner can enforce it);
 * - output arrives line by line, stdout and stderr as they come;
 * - a timeout or a cancel ends the command and everything it started, not just `sh`;
 * - a limit the runner enforces and the command hit (memory, processes, disk) is named in
 *   the result, so the run's one-line reason says which limit it was.
 */
import type { z } from 'zod';
import type { Descriptor } from '../core/registry.js';
import type { ProcessResult } from '../core/process.js';
import type { runners } from './registry.js';

export interface CommandInput {
  command: string;
  /** The checkout, absolute: the command's working directory. */
  appDir: string;
  /** What the command gets beyond what the runner sets itself (its `env:` in shipml.yaml, CI). */
  env: Record<string, string>;
  /** The verified model's directory: MODEL_PATH points at it (inside a container: its mount). */
  modelDir?: string | undefined;
  timeoutSeconds: number;
  signal?: AbortSignal | undefined;
  onLine?: ((line: string) => void) | undefined;
  /** Stdout kept for the caller (the evaluation's metrics); default 0. */
  keepStdoutBytes?: number | undefined;
}

export interface CommandOutcome extends ProcessResult {
  /** The limit the command hit, e.g. "memory limit 256 MiB (killed)"; undefined when none. */
  limit?: string | undefined;
}

/** A runner, opened for one run. */
export interface CommandRunner {
  readonly kind: RunnerKind;
  run(input: CommandInput): Promise<CommandOutcome>;
}

/** What a runner gets from its caller when it is opened. */
export interface RunnerContext {
  /** ShipML's own environment: the host runner passes it on; the container runner reads only DOCKER_HOST & co. from it. */
  env: NodeJS.ProcessEnv;
  /** The image the container runner uses when runner.image is not set (build.base). */
  defaultImage?: string | undefined;
  /** Credentials the Docker Engine pulls the runner's image with (never given to the command). */
  pull?: { registry: string; username: string; password: string } | undefined;
  /**
   * Labels for what the runner creates (the server: the run's id), so a later process can
   * find what a killed one left behind (runners/container/sweep.ts).
   */
  labels?: Record<string, string> | undefined;
  /** What the runner says about itself (pulling an image), as run log lines. */
  say?: ((line: string) => void) | undefined;
}

/**
 * A runner as the registry knows it. Its folder holds schema.ts (its keys of shipml.yaml
 * `runner:`, no SDK), descriptor.ts (this object), index.ts (loaded by `open`) and README.md.
 */
export interface RunnerDescriptor<S extends z.ZodObject = z.ZodObject> extends Descriptor {
  readonly optionsSchema: S;
  open(options: z.output<S>, ctx: RunnerContext): Promise<CommandRunner>;
}

/** A runner's id (`host`, `container`): shipml.yaml `runner.kind`, `--runner`. */
export type RunnerKind = (typeof runners)['ids'][number];
