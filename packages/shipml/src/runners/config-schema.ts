/**
 * The `runner` section of shipml.yaml: `kind` plus that runner's own keys (its schema.ts),
 * composed from the registry. Strict per kind: a container key under kind host is an error
 * naming the keys it takes.
 */
import { z } from 'zod';
import { runners } from './registry.js';

/**
 * A runner's keys as written: its defaults are applied when it is opened (open.ts), so the
 * server's caps can tell what shipml.yaml asked for from what nobody asked for.
 */
function asWritten(shape: z.ZodRawShape): z.ZodRawShape {
  return Object.fromEntries(
    Object.entries(shape).map(([key, schema]) => [
      key,
      schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType).optional() : schema,
    ]),
  );
}

const sections = runners.all.map((d) => {
  const shape = { kind: z.literal(d.id), ...asWritten(d.optionsSchema.shape) };
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown ${issue.keys.length > 1 ? 'keys' : 'key'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} for runner ${d.id}: expected ${keys}`
        : undefined,
  });
}) as unknown as [
  z.ZodObject<{ kind: z.ZodLiteral<'host'> }>,
  ...Array<z.ZodObject<{ kind: z.ZodLiteral<(typeof runners.ids)[number]> }>>,
];

const byKind = z.discriminatedUnion('kind', sections, {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown command runner ${JSON.stringify((issue.input as { kind?: unknown } | undefined)?.kind)}: expected one of ${runners.ids.join(', ')}`
      : undefined,
});

/** `runner:` as validated: its kind and that runner's options as written (no defaults). */
export interface RunnerConfig {
  kind: (typeof runners.ids)[number];
  [option: string]: unknown;
}

/** `runner:` of shipml.yaml; `kind` defaults to the registry's first runner (host). */
export const RunnerConfigSchema: z.ZodType<RunnerConfig, unknown> = z.preprocess(
  (value) =>
    value && typeof value === 'object' && !Array.isArray(value) && !('kind' in value)
      ? { ...value, kind: runners.ids[0] }
      : value,
  byKind,
);
