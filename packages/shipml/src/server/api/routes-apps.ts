/**
 * The apps part of the API: what each app is and what is live, its models (versions,
 * metrics, channels; promote), rollback, and the webhook deliveries received.
 */
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConflictError, ExternalServiceError, ShipmlError } from '../../core/errors.js';
import { appName } from '../../deploy/spec.js';
import { imageDigest } from '../../deploy/types.js';
import { defaultCacheDir } from '../../model-store/cache.js';
import { targetOpenerOf } from '../../pipeline/assemble.js';
import { appRepository, headConfig } from '../app-runtime.js';
import type { AppConfig } from '../config/schema.js';
import type { Service } from '../service.js';
import { triggers } from '../triggers/registry.js';
import { displayRepository } from '../workspace.js';
import { route, type Route } from './route.js';
import { runView } from './routes-runs.js';
import type { LiveSchema } from './schemas.js';
import {
  AppDetailSchema,
  AppParams,
  AppSchema,
  DeliveryListQuery,
  DeliveryListSchema,
  ModelsSchema,
  PromoteBody,
  PromoteSchema,
  RevisionsSchema,
  RollbackBody,
  RollbackSchema,
} from './schemas.js';

/** Asking a target or a store for the API: bounded, so a dead engine cannot hang a page. */
const ASK_MS = 10_000;

export function appRoutes(service: Service): Route[] {
  const { store } = service;
  const summary = async (app: AppConfig): Promise<z.input<typeof AppSchema>> => {
    const depth = (await store.queueDepth()).find((d) => d.app === app.name);
    const last = (await store.listRuns({ app: app.name, limit: 1 })).runs[0];
    return {
      name: app.name,
      repository: displayRepository(app.repository),
      branches: [...app.branches],
      config: app.config,
      release: app.release,
      concurrency: app.concurrency,
      env: app.env,
      secrets: Object.keys(app.secrets),
      triggers: app.triggers.map((t) => {
        const mode = triggers.get(t.type).mode;
        return {
          type: t.type,
          mode,
          ...(mode === 'webhook' ? { hook: `/hooks/${app.name}/${t.type}` } : {}),
        };
      }),
      queue: { queued: depth?.queued ?? 0, running: depth?.running ?? 0 },
      ...(last ? { lastRun: runView(last) } : {}),
    };
  };
  const head = (app: AppConfig) =>
    headConfig(
      service.workspaces,
      app,
      service.options.loaded.dataDir,
      service.options.env,
      AbortSignal.timeout(ASK_MS),
    );
  const target = async (app: AppConfig) => {
    const { loaded, env } = await head(app);
    const deploy = loaded.config.deploy;
    if (!deploy)
      throw new ConflictError(`${app.name} does not deploy (no deploy section in ${app.config})`);
    const open = targetOpenerOf({ config: loaded.config, configFile: loaded.file, env });
    return {
      target: await open(),
      name: deploy.app ?? appName(loaded.config, loaded.file, dirname(loaded.file)),
      kind: deploy.target,
    };
  };
  /** The app's model repository and model section at its branch head (absent: none). */
  const modelOf = async (app: AppConfig) => {
    const { loaded, env } = await head(app);
    const repo = await appRepository(loaded, env, defaultCacheDir(env));
    return { repo, name: loaded.config.model?.name, channel: loaded.config.model?.channel };
  };
  /** Asks the target, bounded; an engine that does not answer is a 502 with its one line. */
  const ask = async <T>(kind: string, question: () => Promise<T>): Promise<T> => {
    try {
      return await withTimeout(question());
    } catch (err) {
      if (err instanceof ShipmlError) throw err;
      const message = service.options.redactor.redact((err as Error).message.split('\n')[0]!);
      throw new ExternalServiceError(`the ${kind} target did not answer: ${message}`, {
        retryable: true,
        cause: err,
      });
    }
  };
  const live = async (app: AppConfig): Promise<z.input<typeof LiveSchema>> => {
    try {
      const t = await target(app);
      const status = await withTimeout(t.target.status(t.name));
      return asJson<z.input<typeof LiveSchema>>({
        target: t.kind,
        revision: status.live,
        replicas: status.replicas,
        url: status.url,
        rollout: status.rollout,
      });
    } catch (err) {
      return { target: 'unknown', error: service.options.redactor.redact((err as Error).message) };
    }
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/apps',
      operationId: 'listApps',
      summary: 'The apps this server builds, with their queues and last runs',
      tag: 'apps',
      scope: 'read',
      response: z.object({ apps: z.array(AppSchema) }),
      handler: async () => ({ apps: await Promise.all([...service.apps.values()].map(summary)) }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/apps/{app}',
      operationId: 'getApp',
      summary:
        'One app: what is live on its target (commit, model, image, since when), its recent runs',
      tag: 'apps',
      scope: 'read',
      params: AppParams,
      response: AppDetailSchema,
      handler: async ({ params }) => {
        const app = service.app(params.app);
        const runs = (await store.listRuns({ app: app.name, limit: 20 })).runs.map(runView);
        return { ...(await summary(app)), live: await live(app), runs };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/apps/{app}/models',
      operationId: 'listModels',
      summary:
        "The versions of an app's model with their metrics and channels, and which one is in production",
      tag: 'models',
      scope: 'read',
      params: AppParams,
      response: ModelsSchema,
      handler: async ({ params }) => {
        const app = service.app(params.app);
        const { repo, name, channel } = await modelOf(app);
        if (!repo || !name) return { channels: [], versions: [] };
        const [versions, channels, now] = await Promise.all([
          repo.list(name),
          repo.channels(name),
          live(app),
        ]);
        const production = now.revision?.provenance.model;
        return {
          model: name,
          channel,
          production: production?.name === name ? production.version : undefined,
          channels: channels.map((c) => ({ channel: c.channel, version: c.version })),
          versions: versions.map((v) => ({
            version: v.manifest.version,
            digest: v.manifest.digest,
            created: v.manifest.created,
            channels: v.channels,
            ...(v.manifest.metrics ? { metrics: v.manifest.metrics } : {}),
          })),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/apps/{app}/models/promote',
      operationId: 'promoteModel',
      summary: "Point a channel of the app's model at a version (the model watch then ships it)",
      tag: 'models',
      scope: 'admin',
      params: AppParams,
      body: PromoteBody,
      response: PromoteSchema,
      handler: async ({ params, body }) => {
        const app = service.app(params.app);
        const { repo, name } = await modelOf(app);
        if (!repo || !name)
          throw new ConflictError(`${app.name} ships no model (no model.name in ${app.config})`);
        const result = await repo.promote(name, body.version, body.channel);
        return {
          channel: body.channel,
          version: result.pointer.version,
          previous: result.previous?.version,
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/apps/{app}/revisions',
      operationId: 'listRevisions',
      summary:
        "The app's live revision and its revision history on its deploy target, newest first",
      tag: 'apps',
      scope: 'read',
      params: AppParams,
      response: RevisionsSchema,
      handler: async ({ params }) => {
        const app = service.app(params.app);
        const t = await ask('deploy', () => target(app));
        const [status, history] = await ask(t.kind, () =>
          Promise.all([t.target.status(t.name), t.target.history(t.name)]),
        );
        // Which recent run deployed each revision (a rollback has none).
        const { runs } = await store.listRuns({ app: app.name, status: 'succeeded', limit: 200 });
        const byRevision = new Map<string, string>();
        for (const r of runs) {
          const l = r.report?.live;
          if (l && !byRevision.has(`${l.number} ${l.image}`))
            byRevision.set(`${l.number} ${l.image}`, r.id);
        }
        return asJson<z.input<typeof RevisionsSchema>>({
          target: t.kind,
          app: t.name,
          live: status.live?.number,
          url: status.url,
          replicas: status.live ? status.replicas : undefined,
          rollout: status.rollout,
          revisions: history.map((rev) => ({
            number: rev.number,
            image: rev.image,
            digest: imageDigest(rev.image),
            commit: rev.provenance.commit,
            appVersion: rev.provenance.appVersion,
            model: rev.provenance.model,
            deployedAt: rev.deployedAt,
            live: rev.number === status.live?.number,
            run: byRevision.get(`${rev.number} ${rev.image}`),
          })),
        });
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/apps/{app}/rollback',
      operationId: 'rollback',
      summary: 'Roll the app back to an earlier revision (default: the one before the live one)',
      tag: 'apps',
      scope: 'admin',
      params: AppParams,
      body: RollbackBody,
      response: RollbackSchema,
      handler: async ({ params, body }) => {
        const app = service.app(params.app);
        const running = (await store.listRuns({ app: app.name, status: 'running', limit: 50 }))
          .runs;
        if (running.some((r) => r.deploys))
          throw new ConflictError(
            `${app.name} is deploying (run ${running.find((r) => r.deploys)!.id}): cancel it or wait`,
          );
        const t = await ask('deploy', () => target(app));
        const result = await t.target.rollback(t.name, body.revision);
        service.log(
          `${app.name}: rolled back to revision ${result.revision.number} (${result.revision.image})`,
        );
        return asJson<z.input<typeof RollbackSchema>>({
          revision: result.revision,
          seconds: result.seconds,
        });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/deliveries',
      operationId: 'listDeliveries',
      summary:
        'Recent webhook deliveries and what became of them (accepted, duplicate, ignored, rejected and why)',
      tag: 'triggers',
      scope: 'read',
      query: DeliveryListQuery,
      response: DeliveryListSchema,
      handler: async ({ query }) => ({
        deliveries: asJson<z.input<typeof DeliveryListSchema>['deliveries']>(
          await store.listDeliveries(query),
        ),
      }),
    }),
  ];
}

/**
 * The value as its JSON answer carries it (undefined members dropped, Dates as ISO strings),
 * which is what the response schemas describe.
 */
function asJson<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  const late = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${ASK_MS / 1000} s`)), ASK_MS).unref(),
  );
  return Promise.race([promise, late]);
}
