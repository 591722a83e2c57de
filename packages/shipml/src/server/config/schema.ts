/**
 * The schema of the server's config file (shipml-server.yaml): where it keeps its state,
 * where it listens, and the apps it builds — each a git repository with the path of its
 * shipml.yaml, the branches it builds, what its runs get, and its triggers (whose options
 * come from the trigger registry). Secrets are written as `${VAR}` and resolved from the
 * server's environment; they are never stored in the database.
 */
import { RunnerLimitsSchema } from '../../runners/limits.js';
import { runners } from '../../runners/registry.js';
import { z } from 'zod';
import { TriggerListSchema } from '../triggers/registry.js';

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const AppConfigSchema = z
  .object({
    /** Lowercase letters, digits and dashes: it appears in URLs and webhook paths. */
    name: z.string().regex(NAME, 'expected a lowercase name: letters, digits, dashes'),
    /** https://, ssh:// or user@host:path, file://, or a local (bare) repository's path. */
    repository: z.string().min(1),
    /** The branches built (pushes to others are ignored). */
    branches: z.array(z.string().min(1)).min(1).default(['main']),
    /** The app's shipml.yaml, relative to the repository's root. */
    config: z.string().min(1).default('shipml.yaml'),
    /**
     * `on-success`: a run that passes its gate deploys (build and release in one run);
     * `manual`: runs stop after push; releases come from a schedule, the API or the CLI.
     */
    release: z.enum(['on-success', 'manual']).default('on-success'),
    /**
     * Where the app's own commands (prepare, test, evaluate) run: `container` isolates them
     * (only the checkout, the model and what their env: names); `host` runs them as this
     * server's processes — only for repositories whose every pusher you trust. The server
     * decides, never the repository's shipml.yaml (whose runner options still apply).
     */
    runner: z.enum(runners.ids).default('container'),
    /**
     * The most this app's shipml.yaml `runner:` may ask for; each key replaces the server-wide
     * `runnerLimits` one (runners/limits.ts: an ask over a cap fails the run, naming both).
     */
    runnerLimits: RunnerLimitsSchema.optional(),
    /** Runs of this app at once (on all workers together); deploys are always one at a time. */
    concurrency: z.number().int().min(1).max(16).default(1),
    /** Environment of the app's runs (not secret: shown by the API). */
    env: z.record(z.string().regex(ENV_NAME), z.string()).default({}),
    /** Secret environment of the app's runs: values redacted everywhere, never stored or shown. */
    secrets: z.record(z.string().regex(ENV_NAME), z.string()).default({}),
    triggers: TriggerListSchema.default([]),
  })
  .strict();

export const ServerConfigSchema = z
  .object({
    /** State and workspaces (mirrors, worktrees, caches); relative to the config file. */
    dataDir: z.string().min(1).default('.shipml-server'),
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8750),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8750 }),
    /** The URL people and webhooks reach the server at (links in logs and answers). */
    publicUrl: z.url().optional(),
    /** `sqlite` (a file in dataDir, the default), `sqlite:PATH`, or `postgres://…`. */
    database: z.string().min(1).default('sqlite'),
    worker: z
      .object({
        /** Runs the embedded worker starts at once (0: this process only serves). */
        slots: z.number().int().min(0).max(16).default(1),
        /** How long a claim holds without renewal (a killed worker's runs return after this). */
        leaseSeconds: z.number().int().min(5).max(3600).default(30),
      })
      .strict()
      .default({ slots: 1, leaseSeconds: 30 }),
    /**
     * The most any app's shipml.yaml `runner:` may ask for (cpus, memoryMiB, pids, diskMiB,
     * scratchMiB, network) and every command's time at most (timeoutSeconds); unset: the
     * runner's own bounds. An app's `runnerLimits` overrides it key by key.
     */
    runnerLimits: RunnerLimitsSchema.optional(),
    apps: z.array(AppConfigSchema).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.apps.forEach((app, i) => {
      if (seen.has(app.name))
        ctx.addIssue({
          code: 'custom',
          path: ['apps', i, 'name'],
          message: `duplicate app ${app.name}`,
        });
      seen.add(app.name);
    });
  });

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type AppConfig = z.infer<typeof AppConfigSchema>;
