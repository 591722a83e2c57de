/** The runs part of the API: list, show, log, cancel, rerun, and starting a run of an app. */
import type { z } from 'zod';
import { NotFoundError } from '../../core/errors.js';
import type { Service } from '../service.js';
import { FINAL_STATUSES as FINAL, type RunRecord } from '../store/types.js';
import { route, type Route } from './route.js';
import {
  AppParams,
  LogQuery,
  LogSchema,
  QueuedSchema,
  RunListQuery,
  RunListSchema,
  RunChangesSchema,
  RunParams,
  RunSchema,
  TriggerBody,
} from './schemas.js';

/** A record as the API shows it (JSON has no undefined: absent keys). */
export function runView(run: RunRecord): z.input<typeof RunSchema> {
  return JSON.parse(JSON.stringify(run)) as z.input<typeof RunSchema>;
}

export function runRoutes(service: Service): Route[] {
  const { store } = service;
  const get = async (id: string): Promise<RunRecord> => {
    const run = await store.getRun(id);
    if (!run) throw new NotFoundError(`no run ${id}`);
    return run;
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/runs',
      operationId: 'listRuns',
      summary: 'Runs, newest first, with filters and pagination',
      tag: 'runs',
      scope: 'read',
      query: RunListQuery,
      response: RunListSchema,
      handler: async ({ query }) => {
        const page = await store.listRuns(query);
        return { runs: page.runs.map(runView), next: page.next };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/runs/{id}',
      operationId: 'getRun',
      summary: 'One run: why it ran, its inputs, stages, image and what serves after it',
      tag: 'runs',
      scope: 'read',
      params: RunParams,
      response: RunSchema,
      handler: async ({ params }) => runView(await get(params.id)),
    }),
    route({
      method: 'GET',
      path: '/api/v1/runs/{id}/changes',
      operationId: 'getRunChanges',
      summary:
        "What changed in the run's image since the previous build of the same app and branch: layers (digest, size) and model version",
      tag: 'runs',
      scope: 'read',
      params: RunParams,
      response: RunChangesSchema,
      handler: async ({ params }) => {
        const run = await get(params.id);
        return imageChanges(run, await previousBuild(service, run));
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/runs/{id}/log',
      operationId: 'getRunLog',
      summary: "A run's log lines after a sequence number (see /events for a live stream)",
      tag: 'runs',
      scope: 'read',
      params: RunParams,
      query: LogQuery,
      response: LogSchema,
      handler: async ({ params, query }) => {
        const run = await get(params.id);
        const lines = await store.readLog(run.id, query.after, query.limit);
        const more = lines.length === query.limit;
        return { lines, complete: FINAL.has(run.status) && !more };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/runs/{id}/cancel',
      operationId: 'cancelRun',
      summary: 'Cancel a queued run, or stop a running one (a started deploy rolls back)',
      tag: 'runs',
      scope: 'admin',
      params: RunParams,
      response: RunSchema,
      handler: async ({ params }) => runView(await service.cancel(params.id)),
    }),
    route({
      method: 'POST',
      path: '/api/v1/runs/{id}/rerun',
      operationId: 'rerunRun',
      summary: 'Queue the same run again (same commit, model or image)',
      tag: 'runs',
      scope: 'admin',
      params: RunParams,
      response: QueuedSchema,
      status: 202,
      handler: async ({ params }) => {
        const q = await service.rerun(params.id);
        return { run: runView(q.run), superseded: q.superseded };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/apps/{app}/runs',
      operationId: 'triggerRun',
      summary: 'Start a run of an app (a commit, a model) or a release of an image',
      tag: 'runs',
      scope: 'admin',
      params: AppParams,
      body: TriggerBody,
      response: QueuedSchema,
      status: 202,
      handler: async ({ params, body, token }) => {
        service.app(params.app);
        const [q] = await service.submit(params.app, [
          {
            kind: body.release ? 'release' : 'run',
            cause: {
              trigger: 'manual',
              source: 'api',
              pusher: token.name,
              detail: body.reason,
            },
            branch: body.branch,
            commit: body.commit,
            modelRef: body.model,
            image: body.release,
          },
        ]);
        return { run: runView(q!.run), superseded: q!.superseded };
      },
    }),
  ];
}

/** Succeeded runs looked at (newest first) for the previous build: failed ones carry no image. */
const LOOK_BACK = 100;

/** The newest succeeded run of the app's branch queued before `run` that built an image. */
async function previousBuild(service: Service, run: RunRecord): Promise<RunRecord | undefined> {
  const { runs } = await service.store.listRuns({
    app: run.app,
    branch: run.branch,
    status: 'succeeded',
    kind: 'run',
    before: run.id,
    limit: LOOK_BACK,
  });
  // listRuns without a branch lists every branch: keep the same branch (or none) only.
  return runs.find((r) => r.branch === run.branch && r.report?.layers?.length);
}

type Changes = z.input<typeof RunChangesSchema>;

/** Layers matched by kind and position within the kind; the model from the runs' inputs. */
export function imageChanges(run: RunRecord, previous: RunRecord | undefined): Changes {
  const now = run.report?.layers ?? [];
  const before = previous?.report?.layers ?? [];
  const key = (layers: typeof now) => {
    const seen = new Map<string, number>();
    return layers.map((l) => {
      const n = seen.get(l.kind) ?? 0;
      seen.set(l.kind, n + 1);
      return `${l.kind}#${n}`;
    });
  };
  const beforeByKey = new Map(key(before).map((k, i) => [k, before[i]!]));
  const layers: Changes['layers'] = key(now).map((k, i) => {
    const l = now[i]!;
    const b = beforeByKey.get(k);
    beforeByKey.delete(k);
    return {
      kind: l.kind,
      change: !previous ? 'added' : !b ? 'added' : b.digest === l.digest ? 'unchanged' : 'changed',
      now: { digest: l.digest, size: l.size, status: l.status },
      ...(b ? { before: { digest: b.digest, size: b.size } } : {}),
    };
  });
  if (now.length)
    for (const b of beforeByKey.values())
      layers.push({ kind: b.kind, change: 'removed', before: { digest: b.digest, size: b.size } });
  const modelNow = run.report?.inputs?.model;
  const modelBefore = previous?.report?.inputs?.model;
  return JSON.parse(
    JSON.stringify({
      previous: previous && {
        id: previous.id,
        commit: previous.report?.inputs?.commit ?? previous.commit,
        finishedAt: previous.finishedAt,
        image: previous.report?.image?.reference,
      },
      layers,
      model:
        modelNow || modelBefore
          ? {
              changed: modelNow?.digest !== modelBefore?.digest,
              before: modelBefore,
              now: modelNow,
            }
          : undefined,
    }),
  ) as Changes;
}
