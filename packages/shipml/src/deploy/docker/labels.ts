/**
 * The labels the Docker target writes on its containers and reads back as its state: the
 * writer and the zod schema the reader trusts them through, side by side so they cannot drift.
 * Docker labels are strings; the spec and the provenance are JSON inside them.
 */
import { z } from 'zod';
import {
  DeploySpecSchema,
  describeIssues,
  ReleaseProvenanceSchema,
  RevisionSchema,
} from '../spec-schema.js';
import type { DeploySpec, ReleaseProvenance } from '../types.js';

export const LABEL = {
  app: 'dev.shipml.app',
  role: 'dev.shipml.role',
  revision: 'dev.shipml.revision',
  slot: 'dev.shipml.slot',
  image: 'dev.shipml.image',
  provenance: 'dev.shipml.provenance',
  deployedAt: 'dev.shipml.deployed-at',
  spec: 'dev.shipml.spec',
  /** On the proxy: the settings its config was written with (port, readiness path, host port). */
  proxy: 'dev.shipml.proxy',
} as const;

/** The result of reading labels: the value, or one line saying what is wrong. */
export type LabelRead<T> = { ok: true; value: T } | { ok: false; reason: string };

const positiveNumber = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'expected a positive whole number')
  .transform(Number);

/** A label holding JSON that `schema` accepts. */
function jsonLabel<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const ReplicaLabelsSchema = z
  .object({
    [LABEL.app]: z.string(),
    [LABEL.revision]: positiveNumber,
    [LABEL.slot]: positiveNumber,
    [LABEL.image]: z.string().min(1),
    [LABEL.provenance]: jsonLabel(ReleaseProvenanceSchema),
    [LABEL.deployedAt]: RevisionSchema.shape.deployedAt,
    [LABEL.spec]: jsonLabel(DeploySpecSchema),
  })
  .refine((l) => l[LABEL.spec].app === l[LABEL.app], {
    message: `spec.app differs from ${LABEL.app}`,
    path: [LABEL.spec],
  });

/** What a replica's labels say, once they read. */
export interface ReplicaLabels {
  revision: number;
  slot: number;
  image: string;
  provenance: ReleaseProvenance;
  deployedAt: string;
  spec: DeploySpec;
}

/** The labels of replica container of `revision` in load balancer `slot`. */
export function replicaLabels(
  revision: {
    number: number;
    image: string;
    provenance: ReleaseProvenance;
    deployedAt: string;
    spec: DeploySpec;
  },
  slot: number,
): Record<string, string> {
  const spec = revision.spec;
  return {
    ...spec.labels,
    [LABEL.app]: spec.app,
    [LABEL.role]: 'replica',
    [LABEL.revision]: String(revision.number),
    [LABEL.slot]: String(slot),
    [LABEL.image]: revision.image,
    [LABEL.provenance]: JSON.stringify(revision.provenance),
    [LABEL.deployedAt]: revision.deployedAt,
    [LABEL.spec]: JSON.stringify(spec),
  };
}

/**
 * A replica's labels through the schema. When they do not read, `revision` is still given if
 * that one label does (so the record's number stays known).
 */
export function readReplicaLabels(
  labels: Record<string, string>,
): LabelRead<ReplicaLabels> & { revision?: number | undefined } {
  const parsed = ReplicaLabelsSchema.safeParse(labels);
  if (!parsed.success) {
    const revision = positiveNumber.safeParse(labels[LABEL.revision]);
    return {
      ok: false,
      reason: describeIssues(parsed.error),
      revision: revision.success ? revision.data : undefined,
    };
  }
  const l = parsed.data;
  return {
    ok: true,
    value: {
      revision: l[LABEL.revision],
      slot: l[LABEL.slot],
      image: l[LABEL.image],
      provenance: l[LABEL.provenance],
      deployedAt: l[LABEL.deployedAt],
      spec: l[LABEL.spec],
    },
  };
}

/** The revision in a replica's name (`shipml-APP-rN-I`), for a record whose labels do not read. */
export function revisionFromName(name: string): number | undefined {
  const match = /-r([1-9][0-9]*)-[0-9]+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * A replica whose rollout failed (it crashed or never became ready) is kept, stopped, under
 * its name plus this suffix, so an operator can `docker logs` it; the next deploy and
 * `shipml destroy` remove it. The mark is the name because Docker labels cannot change once
 * a container exists (the Engine API updates only resources and the restart policy), and
 * the replica was created, with its labels, before anyone knew it would fail.
 */
export const FAILED_SUFFIX = '-failed';

/** `shipml-APP-rN-I-failed`: the kept replica I of revision N of APP. */
const FailedNameSchema = z
  .string()
  .regex(/^shipml-[a-z0-9-]+-r[1-9][0-9]*-[1-9][0-9]*-failed$/, 'not a failed replica name');

/** The name a failed replica is kept under. */
export function failedName(replica: string): string {
  return `${replica}${FAILED_SUFFIX}`;
}

/**
 * Whether a replica container (role `replica`) named `name` is a kept failed rollout
 * attempt of `app`, and the revision it tried (its label when that reads, else its name).
 * Such a container is never a history record or a live replica, whatever its labels say.
 */
export function readFailedAttempt(
  name: string,
  labels: Record<string, string>,
): { revision: number | undefined } | undefined {
  if (!FailedNameSchema.safeParse(name).success) return undefined;
  const app = labels[LABEL.app];
  if (app === undefined || !name.startsWith(`shipml-${app}-r`)) return undefined;
  const revision = positiveNumber.safeParse(labels[LABEL.revision]);
  return {
    revision: revision.success
      ? revision.data
      : revisionFromName(name.slice(0, -FAILED_SUFFIX.length)),
  };
}

const ProxySettingsSchema = z.object({
  port: z.number().int().min(1).max(65535),
  readinessPath: z.string(),
  /** `address:port` it is published on. */
  host: z.string().min(1),
  image: z.string().min(1),
});

/** What the load balancer container was created with; a change means a new container. */
export type ProxySettings = z.output<typeof ProxySettingsSchema>;

/** The proxy's settings label (compared as text: equal text, equal settings). */
export function proxySettingsLabel(settings: ProxySettings): string {
  return JSON.stringify({
    port: settings.port,
    readinessPath: settings.readinessPath,
    host: settings.host,
    image: settings.image,
  });
}

/** The settings a proxy container was created with, through the schema. */
export function readProxySettings(labels: Record<string, string>): LabelRead<ProxySettings> {
  const text = labels[LABEL.proxy];
  if (text === undefined) return { ok: false, reason: `no ${LABEL.proxy} label` };
  const parsed = jsonLabel(ProxySettingsSchema).safeParse(text);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: describeIssues(parsed.error, LABEL.proxy) };
}
