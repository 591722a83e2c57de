import { z } from 'zod';

/** A resource quantity (100m, 256Mi, 1.5): the API server's own pattern for them. */
const quantity = z
  .string()
  .regex(
    /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/,
    'expected a Kubernetes quantity such as 100m, 0.5, 256Mi or 2Gi',
  );
const resourceList = z.record(z.string(), quantity);

/** `deploy.kubernetes` in shipml.yaml: the cluster and the objects around the app. */
export const KubernetesDeploySchema = z
  .object({
    /** kubeconfig file (default: KUBECONFIG, ~/.kube/config, else in-cluster). */
    kubeconfig: z.string().min(1).optional(),
    /** Context in the kubeconfig (default: its current-context). */
    context: z.string().min(1).optional(),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a namespace name (a DNS label)')
      .default('default'),
    service: z
      .object({
        type: z.enum(['LoadBalancer', 'ClusterIP', 'NodePort']).default('LoadBalancer'),
        port: z.number().int().min(1).max(65535).default(80),
      })
      .strict()
      .default({ type: 'LoadBalancer', port: 80 }),
    /** An Ingress for this host name (the DNS name users reach). */
    ingress: z
      .object({
        host: z.string().min(1),
        className: z.string().min(1).optional(),
        /** Secret with the TLS certificate for the host. */
        tlsSecret: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** A HorizontalPodAutoscaler between min and max replicas. */
    autoscale: z
      .object({
        min: z.number().int().min(1),
        max: z.number().int().min(1),
        cpuPercent: z.number().int().min(1).max(100).default(70),
      })
      .strict()
      .refine((a) => a.min <= a.max, { message: 'autoscale.min must not exceed autoscale.max' })
      .optional(),
    resources: z
      .object({ requests: resourceList.optional(), limits: resourceList.optional() })
      .strict()
      .default({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } }),
    /**
     * The uid (and gid) the app runs as. runAsNonRoot needs a numeric user the kubelet can
     * check; 1000 is the `app` user of ShipML's base images.
     */
    runAsUser: z.number().int().min(1).default(1000),
  })
  .strict();

/**
 * Options of the Kubernetes target: `deploy.kubernetes` of shipml.yaml,
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
