import { z } from 'zod';
import { IntegrityError } from '../../core/errors.js';
import { MediaType } from '../media-types.js';
import { DescriptorSchema } from '../schema.js';
import { ModelPack } from './media-types.js';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>');

/**
 * The ModelPack model config, `application/vnd.cncf.model.config.v1+json`, as
 * schema/config-schema.json of model-spec v0.0.7 has it: `descriptor`, `config` and
 * `modelfs` are required, and no other property is allowed at the top level.
 */
export const ModelPackConfigSchema = z.strictObject({
  descriptor: z.looseObject({
    createdAt: z.string().optional(),
    authors: z.array(z.string()).optional(),
    vendor: z.string().optional(),
    family: z.string().optional(),
    name: z.string().optional(),
    version: z.string().optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    docURL: z.string().optional(),
    sourceURL: z.string().optional(),
    datasetsURL: z.array(z.string()).optional(),
    revision: z.string().optional(),
    licenses: z.array(z.string()).optional(),
  }),
  config: z.looseObject({
    architecture: z.string().optional(),
    format: z.string().optional(),
    paramSize: z.string().optional(),
    precision: z.string().optional(),
    quantization: z.string().optional(),
  }),
  modelfs: z.object({ type: z.literal('layers'), diffIds: z.array(digest) }),
});

/** An OCI image manifest carrying a ModelPack artifact (docs/spec.md). */
export const ModelPackManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.ociManifest),
  artifactType: z.literal(ModelPack.artifactType).optional(),
  config: DescriptorSchema.extend({ mediaType: z.literal(ModelPack.config) }),
  layers: z.array(DescriptorSchema).min(1),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type ModelPackConfig = z.infer<typeof ModelPackConfigSchema>;
export type ModelPackManifest = z.infer<typeof ModelPackManifestSchema>;

/** Parses JSON that crossed a boundary with `schema`; IntegrityError naming the first problem. */
export function parseDocument<T>(schema: z.ZodType<T>, bytes: Buffer, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new IntegrityError(`${where} is not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new IntegrityError(
    `${where} is not a ModelPack document: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
  );
}
