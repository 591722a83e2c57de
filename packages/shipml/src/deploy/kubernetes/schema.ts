import { z } from 'zod';
import { KubernetesDeploySchema } from '../../config/schema.js';

/**
 * Options of the Kubernetes target: `deploy.kubernetes` of shipml.yaml (config/schema.ts),
 * plus what only a caller can give — the pull Secret's credentials (from the registry
 * credentials the pipeline pushed with, never from the kubeconfig) and client tuning.
 */
export const KubernetesTargetOptionsSchema = KubernetesDeploySchema.extend({
  /** Credentials the cluster pulls the image with (a kubernetes.io/dockerconfigjson Secret). */
  pullSecret: z
    .object({
      /** Registry host as in the image reference, e.g. myacr.azurecr.io or 127.0.0.1:5000. */
      registry: z.string().min(1),
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .strict()
    .optional(),
  /** Seconds one API request may take before it counts as failed (and is retried). */
  requestTimeoutSeconds: z.number().positive().max(600).default(30),
  /** Milliseconds between two looks at a rollout. */
  pollIntervalMs: z.number().int().min(50).max(10_000).default(500),
}).strict();

/** Options as the caller writes them (defaults not yet applied). */
export type KubernetesTargetInput = z.input<typeof KubernetesTargetOptionsSchema>;
/** Options with defaults applied. */
export type KubernetesTargetOptions = z.output<typeof KubernetesTargetOptionsSchema>;
