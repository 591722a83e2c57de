import { z } from 'zod';
import { validateName, validateVersion } from '../../../model-store/names.js';

/** Options of the `generic` trigger: a signed JSON hook any git host or script can call. */
export const GenericTriggerOptionsSchema = z
  .object({
    /** The shared secret (`${VAR}` in the server config) the sender signs the body with. */
    secret: z.string().min(1),
    /** Branches (or globs) that start runs; default: the app's branches. */
    branches: z.array(z.string().min(1)).optional(),
    /** Also run tags (`"ref": "refs/tags/..."`); default false. */
    tags: z.boolean().default(false),
  })
  .strict();
export type GenericTriggerOptions = z.infer<typeof GenericTriggerOptionsSchema>;

/** The body of a generic hook (documented in README.md). */
export const GenericHookBodySchema = z
  .object({
    /** `refs/heads/BRANCH` or `refs/tags/TAG`; or give `branch`. */
    ref: z.string().min(1).max(1024).optional(),
    branch: z.string().min(1).max(1024).optional(),
    /** The commit to run (40 or 64 hex). */
    commit: z
      .string()
      .regex(/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, 'expected a full commit id (40 hex)')
      .transform((c) => c.toLowerCase()),
    /** The model version to ship with it (`name@version`); default: the app's channel. */
    model: z.string().max(300).refine(isNameAtVersion, 'expected name@version').optional(),
    /** Who pushed (a name, shown with the run). */
    pusher: z.string().max(256).optional(),
  })
  .strict()
  .refine((b) => (b.ref === undefined) !== (b.branch === undefined), {
    message: 'give exactly one of ref and branch',
  });

/** `name@version` in the model store's grammar (names.ts), so the run can resolve it. */
function isNameAtVersion(ref: string): boolean {
  const at = ref.indexOf('@');
  try {
    validateName(ref.slice(0, at));
    validateVersion(ref.slice(at + 1));
    return at > 0;
  } catch {
    return false;
  }
}
