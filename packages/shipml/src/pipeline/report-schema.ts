/**
 * The run report (types.ts) as a zod schema, for reading back what earlier runs wrote under
 * .shipml/runs/: the skip rule reuses an earlier run's image on the strength of its report,
 * so a report that does not have the shape of one is not trusted. The type-level assertion
 * fails the type check when the schema and the RunReport interface drift apart.
 *
 * JSON has no `undefined`: a field that was undefined is absent from the file, and reads back
 * absent (`orUndefined`). Unknown keys are dropped, so a newer ShipML's report still reads.
 */
import { z } from 'zod';
import { RevisionSchema, type Assert, type Equals } from '../deploy/spec-schema.js';
import { STAGES, type RunReport } from './types.js';

/** `T | undefined` as a required key of the output that may be absent from the input. */
function orUndefined<T extends z.ZodType>(schema: T) {
  return schema.optional().transform((value) => value);
}

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>');
const stage = z.enum(STAGES);

const StageReportSchema = z.object({
  name: stage,
  status: z.enum(['succeeded', 'failed', 'skipped']),
  seconds: z.number().nonnegative(),
  detail: z.string(),
});

const RunInputsSchema = z.object({
  commit: orUndefined(z.string().min(1)),
  tree: orUndefined(z.string().min(1)),
  dirty: z.boolean(),
  model: orUndefined(z.object({ name: z.string(), version: z.string(), digest })),
  configHash: z.string().min(1),
});

const SignedImageSchema = z.object({
  key: z.string().min(1),
  signature: digest,
  attachments: z.array(
    z.object({ kind: z.enum(['sbom', 'provenance']), envelope: digest, referrer: digest }),
  ),
  reusedFrom: z.string().min(1).optional(),
});

export const RunReportSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['run', 'release']),
  trigger: z.enum(['commit', 'model', 'schedule', 'manual']),
  reason: orUndefined(z.string()),
  startedAt: z.string(),
  finishedAt: orUndefined(z.string()),
  outcome: z.enum(['succeeded', 'failed', 'cancelled', 'running']),
  failure: orUndefined(z.object({ stage, message: z.string() })),
  inputs: orUndefined(RunInputsSchema),
  reusedFrom: orUndefined(z.string()),
  image: orUndefined(z.object({ reference: z.string().min(1), digest })),
  layers: orUndefined(
    z.array(
      z.object({
        kind: z.string(),
        digest: z.string(),
        size: z.number().nonnegative(),
        status: z.string(),
      }),
    ),
  ),
  metrics: orUndefined(z.record(z.string(), z.number())),
  gate: z
    .object({
      passed: z.boolean(),
      checks: z.array(
        z.object({
          metric: z.string(),
          value: orUndefined(z.number()),
          op: z.enum(['>=', '<=']),
          bound: orUndefined(z.number()),
          champion: z.string().optional(),
          ok: z.boolean().nullable(),
          text: z.string(),
        }),
      ),
    })
    .optional(),
  // Optional (not orUndefined): reports written before the sign stage have no such key.
  signed: SignedImageSchema.optional(),
  stages: z.array(StageReportSchema),
  live: orUndefined(RevisionSchema),
  url: orUndefined(z.string()),
});

export type RunReportSchemaMatches = Assert<Equals<z.output<typeof RunReportSchema>, RunReport>>;
