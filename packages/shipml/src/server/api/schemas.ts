/**
 * What the API answers and accepts, as zod schemas (validation and the OpenAPI document both
 * come from these). Nothing here carries a secret: app `secrets` and trigger secrets are
 * never part of an answer, a repository URL is shown without its credentials.
 */
import { z } from 'zod';
import { RevisionSchema } from '../../deploy/spec-schema.js';
import { RunReportSchema } from '../../pipeline/report-schema.js';
import { RunCauseSchema } from '../store/rows.js';
import { RUN_STATUSES } from '../store/types.js';

const id = z.string().regex(/^[\w.-]{1,100}$/);
export const AppParams = z.object({ app: z.string().regex(/^[a-z0-9-]{1,63}$/) });
export const RunParams = z.object({ id });

export const CauseSchema = RunCauseSchema;

export const RunSchema = z
  .object({
    id: z.string(),
    app: z.string(),
    kind: z.enum(['run', 'release']),
    status: z.enum(RUN_STATUSES),
    cause: CauseSchema,
    branch: z.string().optional(),
    commit: z.string().optional(),
    modelRef: z.string().optional(),
    image: z.string().optional(),
    deploys: z.boolean(),
    attempt: z.number().int(),
    retryOf: z.string().optional(),
    supersededBy: z.string().optional(),
    queuedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    worker: z.string().optional(),
    cancelRequested: z.boolean(),
    error: z.string().optional(),
    report: RunReportSchema.optional(),
  })
  .meta({ id: 'Run' });

export const RunListQuery = z.object({
  app: z.string().optional(),
  status: z.enum(RUN_STATUSES).optional(),
  kind: z.enum(['run', 'release']).optional(),
  branch: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: id.optional().meta({ description: "the previous page's `next`" }),
});

export const RunListSchema = z.object({ runs: z.array(RunSchema), next: z.string().optional() });

export const LogQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).meta({ description: 'lines after this seq' }),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

export const LogSchema = z.object({
  lines: z.array(
    z.object({ seq: z.number().int(), at: z.string(), stage: z.string(), line: z.string() }),
  ),
  /** The run is final and every line is here. */
  complete: z.boolean(),
});

export const TriggerBody = z
  .object({
    branch: z.string().min(1).optional(),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'expected a full commit id (40 hex)')
      .optional(),
    model: z.string().min(1).optional().meta({ description: 'name@version or name:channel' }),
    release: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'deploy this image (with digest) instead of building' }),
    reason: z.string().max(200).optional(),
  })
  .strict();

export const QueuedSchema = z.object({ run: RunSchema, superseded: z.array(z.string()) });

export const LiveSchema = z.object({
  target: z.string(),
  revision: RevisionSchema.optional(),
  replicas: z.object({ desired: z.number(), ready: z.number(), updated: z.number() }).optional(),
  url: z.string().optional(),
  rollout: z.string().optional(),
  /** Why the target could not be asked (unreachable, no deploy section). */
  error: z.string().optional(),
});

export const AppSchema = z
  .object({
    name: z.string(),
    repository: z.string(),
    branches: z.array(z.string()),
    config: z.string(),
    release: z.enum(['on-success', 'manual']),
    concurrency: z.number().int(),
    env: z.record(z.string(), z.string()),
    /** Names only: values are never shown. */
    secrets: z.array(z.string()),
    triggers: z.array(
      z.object({
        type: z.string(),
        mode: z.enum(['webhook', 'watch']),
        hook: z.string().optional(),
      }),
    ),
    queue: z.object({ queued: z.number().int(), running: z.number().int() }),
    lastRun: RunSchema.optional(),
  })
  .meta({ id: 'App' });

export const AppDetailSchema = AppSchema.extend({ live: LiveSchema, runs: z.array(RunSchema) });

export const ModelsSchema = z.object({
  model: z.string().optional(),
  channel: z.string().optional(),
  store: z.string().optional(),
  /** The version production runs. */
  production: z.string().optional(),
  channels: z.array(z.object({ channel: z.string(), version: z.string() })),
  versions: z.array(
    z.object({
      version: z.string(),
      digest: z.string(),
      created: z.string(),
      channels: z.array(z.string()),
      metrics: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

export const PromoteBody = z
  .object({ version: z.string().min(1), channel: z.string().min(1).default('latest') })
  .strict();
export const PromoteSchema = z.object({
  channel: z.string(),
  version: z.string(),
  previous: z.string().optional(),
});

export const RollbackBody = z.object({ revision: z.number().int().min(1).optional() }).strict();
export const RollbackSchema = z.object({ revision: RevisionSchema, seconds: z.number() });

export const DeliveryListQuery = z.object({
  app: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const DeliveryListSchema = z.object({
  deliveries: z.array(
    z.object({
      source: z.string(),
      id: z.string().optional(),
      app: z.string(),
      result: z.enum(['accepted', 'duplicate', 'ignored', 'rejected']),
      detail: z.string(),
      at: z.string(),
    }),
  ),
});

const ModelRefSchema = z.object({ name: z.string(), version: z.string(), digest: z.string() });

/** `GET /api/v1/apps/{app}/revisions`: what the app's deploy target reports, newest first. */
export const RevisionsSchema = z
  .object({
    /** The deploy target's kind (docker, kubernetes). */
    target: z.string(),
    /** The app's name on the target (deploy.app). */
    app: z.string(),
    /** The number of the revision serving now; absent when nothing is deployed. */
    live: z.number().int().optional(),
    url: z.string().optional(),
    replicas: z.object({ desired: z.number(), ready: z.number(), updated: z.number() }).optional(),
    rollout: z.string().optional(),
    revisions: z.array(
      z.object({
        number: z.number().int(),
        image: z.string(),
        /** The image's digest (from its `@sha256:` reference). */
        digest: z.string().optional(),
        /** From the image's provenance labels, where the target records them. */
        commit: z.string().optional(),
        appVersion: z.string().optional(),
        model: ModelRefSchema.optional(),
        /** When the revision was rolled out (ISO-8601). */
        deployedAt: z.string(),
        live: z.boolean(),
        /** The run that deployed it, when one of the app's recent runs did (not a rollback). */
        run: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'Revisions' });

const LayerRefSchema = z.object({ digest: z.string(), size: z.number() });

/** `GET /api/v1/runs/{id}/changes`: the run's image against the previous build of its branch. */
export const RunChangesSchema = z
  .object({
    /** The previous succeeded run of the same app and branch that built an image. */
    previous: z
      .object({
        id: z.string(),
        commit: z.string().optional(),
        finishedAt: z.string().optional(),
        image: z.string().optional(),
      })
      .optional(),
    /** Per layer (matched by kind, in order): its digest and size now and before. */
    layers: z.array(
      z.object({
        kind: z.string(),
        change: z.enum(['changed', 'unchanged', 'added', 'removed']),
        /** This run's layer (absent for a removed one). */
        now: LayerRefSchema.extend({ status: z.string() }).optional(),
        /** The previous build's layer (absent for an added one, or with no previous build). */
        before: LayerRefSchema.optional(),
      }),
    ),
    /** The model in the image, before and now (absent when neither build had one). */
    model: z
      .object({
        changed: z.boolean(),
        before: ModelRefSchema.optional(),
        now: ModelRefSchema.optional(),
      })
      .optional(),
  })
  .meta({ id: 'RunChanges' });
