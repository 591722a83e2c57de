import { z } from 'zod';
import { validateChannel, validateName } from '../model-store/names.js';

/**
 * The schema of shipml.yaml. Later issues add build, deploy and pipeline sections;
 * unknown keys are refused so a typo is an error, not a silently ignored setting.
 */
const grammar = (check: (v: string) => unknown) =>
  z.string().superRefine((value, ctx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** `model.store`: a URL, or a URL with back-end options (see the back ends' schema.ts). */
export const StoreConfigSchema = z.union(
  [z.string().min(1), z.looseObject({ url: z.string().min(1) })],
  { error: 'expected a store URL, or an object with `url` and back-end options' },
);

/** A command of the project's (tests, evaluation) the pipeline runs. */
const CommandSchema = (description: string) =>
  z
    .object({
      command: z.string().min(1).describe(description),
      timeoutSeconds: z.number().int().min(1).max(86_400).default(900),
      env: z.record(z.string(), z.string()).default({}),
    })
    .strict();

/** A resource quantity (100m, 256Mi, 1.5): the API server's own pattern for them. */
const quantity = z
  .string()
  .regex(
    /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/,
    'expected a Kubernetes quantity such as 100m, 0.5, 256Mi or 2Gi',
  );
const resourceList = z.record(z.string(), quantity);

/** `deploy.kubernetes`: the cluster and the objects around the app (the Kubernetes target adds its own options). */
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

export const ConfigSchema = z
  .object({
    model: z
      .object({
        /** The model this project ships (default for `shipml model` commands). */
        name: grammar(validateName).optional(),
        /** The channel builds take the model from. */
        channel: grammar(validateChannel).default('latest'),
        store: StoreConfigSchema.optional(),
      })
      .strict()
      .optional(),
    build: z
      .object({
        /** `node`: native, no Docker daemon. `dockerfile`: BuildKit builds the app, ShipML adds the model. */
        kind: z.enum(['node', 'dockerfile']).default('node'),
        /** Base image (node builder): a registry reference or oci:DIR[:name]. */
        base: z.string().min(1).optional(),
        /** Dockerfile (dockerfile builder), relative to the context. */
        dockerfile: z.string().min(1).default('Dockerfile'),
        /** Build arguments (dockerfile builder). */
        args: z.record(z.string(), z.string()).optional(),
        /** The app directory, relative to shipml.yaml (default: its directory). */
        context: z.string().min(1).default('.'),
        /** Files and directories (relative to context) for the app layer; default: all but node_modules, .git, .shipml. */
        include: z.array(z.string().min(1)).optional(),
        workdir: z.string().min(1).default('/app'),
        entrypoint: z.array(z.string()).optional(),
        cmd: z.array(z.string()).optional(),
        env: z.record(z.string(), z.string()).optional(),
        ports: z
          .array(
            z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d+(\/(tcp|udp))?$/)]),
          )
          .optional(),
        user: z.string().min(1).optional(),
        labels: z.record(z.string(), z.string()).optional(),
        /** Where the model lands in the image (default /models/<model name>); MODEL_PATH points there. */
        modelPath: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    image: z
      .object({
        /** Where images are pushed: registry/repository, e.g. myacr.azurecr.io/digits. */
        repository: z.string().min(1),
        /** Tags to push (default: latest and the short commit). */
        tags: z
          .array(z.string().regex(/^[\w][\w.-]{0,127}$/, 'expected a tag: letters, digits, _ . -'))
          .optional(),
      })
      .strict()
      .optional(),
    registry: z
      .object({
        username: z.string().optional(),
        password: z.string().optional(),
        /** PEM file with the CA of a registry using a private certificate. */
        ca: z.string().min(1).optional(),
        /** Allow plain HTTP to a registry that is not on loopback. */
        insecure: z.boolean().default(false),
        /** Upload large blobs in chunks of this many MiB (for registries or proxies that cap request sizes). */
        chunkSizeMiB: z.number().int().min(1).max(4096).optional(),
      })
      .strict()
      .optional(),
    test: CommandSchema(
      "The app's own tests, run by `sh -c` in the build context with MODEL_PATH set to the fetched model.",
    ).optional(),
    evaluate: CommandSchema(
      "Prints the model's metrics as a JSON object (its last stdout line that is one); MODEL_PATH is set.",
    ).optional(),
    gate: z
      .object({
        /** Absolute bounds per metric, e.g. accuracy: { min: 0.92 }. */
        thresholds: z
          .record(
            z.string().min(1),
            z
              .object({ min: z.number().optional(), max: z.number().optional() })
              .strict()
              .refine((t) => t.min !== undefined || t.max !== undefined, 'expected min or max'),
          )
          .default({}),
        /** Champion/challenger: no worse than the model in production by more than `margin`. */
        champion: z
          .object({
            metric: z.string().min(1),
            margin: z.number().min(0).default(0),
            /** Which way is better for this metric. */
            better: z.enum(['higher', 'lower']).default('higher'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    verify: z
      .object({
        /** A path whose answer must mention the expected commit and model digest; null to skip. */
        versionPath: z.string().startsWith('/').nullable().default('/version'),
        /** A sample request that must answer 2xx, e.g. a prediction. */
        request: z
          .object({
            method: z.enum(['GET', 'POST']).default('POST'),
            path: z.string().startsWith('/'),
            body: z.string().optional(),
            contentType: z.string().default('application/json'),
          })
          .strict()
          .optional(),
        timeoutSeconds: z.number().int().min(1).max(600).default(30),
      })
      .strict()
      .optional(),
    deploy: z
      .object({
        /** Where releases go: `docker` (one machine, a reverse proxy in front) or `kubernetes`. */
        target: z.enum(['docker', 'kubernetes']).default('docker'),
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
        docker: z
          .object({
            /** Host port of the load balancer, published on `address` only. */
            port: z.number().int().min(1).max(65535).default(8080),
            address: z.string().min(1).default('127.0.0.1'),
            /** The reverse proxy's image (HAProxy); default: the one `scripts/base-images.sh` builds. */
            proxyImage: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
        kubernetes: KubernetesDeploySchema.optional(),
      })
      .strict()
      .optional(),
    cache: z

      .object({
        /** Local cache directory (default SHIPML_CACHE_DIR, else ~/.cache/shipml). */
        dir: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ShipmlConfig = z.infer<typeof ConfigSchema>;

/** Keys whose values are secrets wherever they appear in the config. */
export const SECRET_KEYS = new Set([
  'secretAccessKey',
  'sessionToken',
  'accountKey',
  'connectionString',
  'sasToken',
  'password',
  'token',
]);
