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
