/**
 * The `build` section of shipml.yaml: the keys every builder shares (the image config, the
 * context, where the model lands) plus the chosen builder's own keys (its schema.ts), keyed
 * by `kind` — composed from the registry, so a new builder adds its keys by being registered.
 * Strict per kind: a key of another builder (`dockerfile` under kind node) is an error that
 * names the keys this kind takes, not a setting silently ignored.
 */
import { z } from 'zod';
import { imageBuilders } from './registry.js';

/** The keys of `build:` every builder takes. */
export const SharedBuildSchema = z.object({
  /** The app directory, relative to shipml.yaml (default: its directory). */
  context: z.string().min(1).default('.'),
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  ports: z
    .array(z.union([z.number().int().min(1).max(65535), z.string().regex(/^\d+(\/(tcp|udp))?$/)]))
    .optional(),
  user: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  /** Where the model lands in the image (default /models/<model name>); MODEL_PATH points there. */
  modelPath: z.string().min(1).optional(),
});

type Builders = (typeof imageBuilders)['all'][number];
/** One kind's `build:` section: kind + shared keys + the builder's own (one per builder: distributive). */
type Section<D extends Builders> = D extends Builders
  ? z.ZodObject<
      { kind: z.ZodLiteral<D['id']> } & typeof SharedBuildSchema.shape &
        D['optionsSchema']['shape'] extends infer S extends z.core.$ZodShape
        ? S
        : never,
      z.core.$strict
    >
  : never;
/**
 * Each kind's section also states the other kinds' keys as absent (the strict schema makes
 * sure they are), so `config.build?.include` reads as `string[] | undefined` under any kind.
 */
type Exclusive<U, K extends PropertyKey = U extends unknown ? keyof U : never> = U extends unknown
  ? U & { [P in Exclude<K, keyof U>]?: undefined }
  : never;

const sections = imageBuilders.all.map((d) => {
  const shape = { kind: z.literal(d.id), ...SharedBuildSchema.shape, ...d.optionsSchema.shape };
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown ${issue.keys.length > 1 ? 'keys' : 'key'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} for kind ${d.id}: expected ${keys}`
        : undefined,
  });
}) as unknown as [Section<Builders>, ...Section<Builders>[]];

const byKind = z.discriminatedUnion('kind', sections, {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown image builder ${JSON.stringify((issue.input as { kind?: unknown } | undefined)?.kind)}: expected one of ${imageBuilders.ids.join(', ')}`
      : undefined,
});

/** `build:` as validated: the shared keys plus one builder's own, told apart by `kind`. */
export type BuildConfig = Exclusive<z.output<typeof byKind>>;

/** `build:` of shipml.yaml; `kind` defaults to the registry's first builder. */
export const BuildConfigSchema: z.ZodType<BuildConfig, unknown> = z.preprocess(
  (value) =>
    value && typeof value === 'object' && !Array.isArray(value) && !('kind' in value)
      ? { ...value, kind: imageBuilders.ids[0] }
      : value,
  byKind,
);
