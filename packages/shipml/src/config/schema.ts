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
