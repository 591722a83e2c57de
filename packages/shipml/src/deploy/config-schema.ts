/**
 * The `deploy` section of shipml.yaml: what every target shares (how the app runs), the
 * target's id, and one optional section per target, each target's own schema — composed
 * from the registry, so a new target adds its section by being registered.
 */
import { z } from 'zod';
import { deployTargets } from './registry.js';

const sections = Object.fromEntries(
  deployTargets.all.map((d) => [d.id, d.optionsSchema.optional()]),
) as { [D in (typeof deployTargets)['all'][number] as D['id']]: z.ZodOptional<D['optionsSchema']> };

export const DeployConfigSchema = z
  .object({
    /** Where releases go (the registry's ids; the first is the default). */
    target: z.enum(deployTargets.ids).default(deployTargets.ids[0]),
    /** The app's name on the target (a DNS label); default: the model name, else the directory name. */
    app: z
      .string()
      .regex(/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/, 'expected a DNS label: a-z, 0-9, -')
      .optional(),
    replicas: z.number().int().min(1).max(100).default(2),
    /** The port the app listens on inside the container. */
    port: z.number().int().min(1).max(65535).default(8080),
    readinessPath: z.string().startsWith('/').default('/readyz'),
    livenessPath: z.string().startsWith('/').default('/healthz'),
    env: z.record(z.string(), z.string()).default({}),
    /** A rollout not finished within this many seconds is rolled back. */
    progressDeadlineSeconds: z.number().int().min(5).max(3600).default(120),
    /** Seconds a replica keeps serving after leaving the load balancer, before SIGTERM. */
    drainSeconds: z.number().int().min(0).max(600).default(5),
    /** Revisions kept for rollback. */
    historyLimit: z.number().int().min(1).max(100).default(10),
    /**
     * The deploy policy: deploy only images signed by this public key (a file relative to
     * shipml.yaml, or `env://NAME`), with a signed SBOM and provenance unless turned off.
     */
    verify: z
      .object({
        key: z.string().min(1),
        requireSbom: z.boolean().default(true),
        requireProvenance: z.boolean().default(true),
      })
      .strict()
      .optional(),
    ...sections,
  })
  .strict();
