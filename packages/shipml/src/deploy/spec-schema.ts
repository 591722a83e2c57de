/**
 * zod schemas of the deploy contract's records (types.ts), for what ShipML wrote earlier and
 * reads back: the Docker target's container labels, the `live` revision in run reports.
 * The interfaces in types.ts stay the contract; the type-level assertions below fail the
 * type check the moment a schema and its interface drift apart.
 *
 * The checks are those every target relies on (a DNS-label app name, whole numbers, paths
 * starting with '/'), not shipml.yaml's ranges: a spec a caller passed in directly (tests,
 * benchmarks, another tool) must read back as it was written. Unknown keys are dropped, so a
 * record written by a newer ShipML still reads.
 */
import { z } from 'zod';
import type { DeploySpec, ReleaseProvenance, Revision } from './types.js';

/** A time `Date.parse` understands (every target writes ISO-8601). */
const time = z
  .string()
  .refine((text) => !Number.isNaN(Date.parse(text)), 'expected an ISO-8601 time');
const wholeNumber = z.number().int().nonnegative();
const path = z.string().startsWith('/', "expected a path starting with '/'");
const stringMap = z.record(z.string(), z.string());

export const ReleaseProvenanceSchema = z.object({
  commit: z.string().optional(),
  appVersion: z.string().optional(),
  model: z.object({ name: z.string(), version: z.string(), digest: z.string() }).optional(),
});

export const DeploySpecSchema = z.object({
  app: z.string().regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'expected a DNS label: a-z, 0-9, -'),
  replicas: wholeNumber,
  port: z.number().int().min(1).max(65535),
  readinessPath: path,
  livenessPath: path,
  env: stringMap,
  labels: stringMap,
  progressDeadlineSeconds: z.number().positive(),
  drainSeconds: z.number().nonnegative(),
  historyLimit: wholeNumber,
});

export const RevisionSchema = z.object({
  number: z.number().int().positive(),
  image: z.string().min(1),
  provenance: ReleaseProvenanceSchema,
  deployedAt: time,
});

/** True when A and B are the same type (not merely assignable one way). */
export type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`: `Assert<Equals<X, Y>>` is a type-level test. */
export type Assert<T extends true> = T;

export type ReleaseProvenanceSchemaMatches = Assert<
  Equals<z.output<typeof ReleaseProvenanceSchema>, ReleaseProvenance>
>;
export type DeploySpecSchemaMatches = Assert<Equals<z.output<typeof DeploySpecSchema>, DeploySpec>>;
export type RevisionSchemaMatches = Assert<Equals<z.output<typeof RevisionSchema>, Revision>>;

/** zod's issues as one line: `path: message; path: message`. */
export function describeIssues(error: z.ZodError, where?: string): string {
  return error.issues
    .map(
      (i) =>
        `${[where, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`,
    )
    .join('; ');
}
