import { RunnerConfigSchema } from '../runners/config-schema.js';
import { z } from 'zod';
import { BuildConfigSchema } from '../builders/config-schema.js';
import { imageBuilders } from '../builders/registry.js';
import { secretsOf } from '../core/registry.js';
import { DeployConfigSchema } from '../deploy/config-schema.js';
import { deployTargets } from '../deploy/registry.js';
import { modelStores } from '../model-store/registry.js';
import { validateChannel, validateName } from '../model-store/names.js';

/**
 * The schema of shipml.yaml; the build and deploy sections and the store options come from
 * the back ends' own schemas (their registries). Unknown keys are refused so a typo is an
 * error, not a silently ignored setting.
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

export const ConfigSchema = z
  .object({
    model: z
      .object({
        /** The model this project ships (default for `shipml model` commands). */
        name: grammar(validateName).optional(),
        /** The channel builds take the model from. */
        channel: grammar(validateChannel).default('latest'),
        store: StoreConfigSchema.optional(),
        /**
         * A registry repository (e.g. myacr.azurecr.io/models/digits) that `shipml model
         * publish` also pushes each version to, as a CNCF ModelPack artifact; builds then
         * mount the model layer from it instead of moving the model's bytes.
         */
        registry: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    build: BuildConfigSchema.optional(),
    image: z
      .object({
        /** Where images are pushed: registry/repository, e.g. myacr.azurecr.io/digits. */
        repository: z.string().min(1),
        /** Tags to push (default: latest and <short-commit>-<model>-<version>). */
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
    prepare: CommandSchema(
      'Makes a clean checkout buildable (e.g. `npm ci && npm run build`), run by `sh -c` in the build context before the tests; MODEL_PATH is set.',
    ).optional(),
    test: CommandSchema(
      "The app's own tests, run by `sh -c` in the build context with MODEL_PATH set to the fetched model.",
    ).optional(),
    evaluate: CommandSchema(
      "Prints the model's metrics as a JSON object (its last stdout line that is one); MODEL_PATH is set.",
    ).optional(),
    /** Where prepare, test and evaluate run (host or an isolated container). */
    runner: RunnerConfigSchema.optional(),
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
    deploy: DeployConfigSchema.optional(),
    /** The sign stage (after push): off when absent. */
    sign: z
      .object({
        /**
         * The cosign private key (ECDSA P-256, cosign's PEM formats): a file, relative to this
         * shipml.yaml, or `env://NAME`; an encrypted key's password is COSIGN_PASSWORD.
         */
        key: z.string().min(1),
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

/**
 * Keys whose values are secrets wherever they appear in the config: what every back end
 * declares (its descriptor's secretOptions), and the registry password.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  ...secretsOf([modelStores, deployTargets, imageBuilders]).options,
  'password',
  'token',
]);
