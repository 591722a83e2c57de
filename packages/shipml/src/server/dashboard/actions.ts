/**
 * Admin actions from the dashboard's forms: run, rerun, cancel, promote, rollback. Each POST
 * must carry the session's CSRF token and come from this server's own pages; then it is the
 * API's call, made with the user's token — so a read token is refused (403) by the API itself,
 * whatever the form says. Success redirects (303) to the page that shows the result.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../api/errors.js';
import type { Service } from '../service.js';
import { apiFor, type Api, type ApiQueued } from './api.js';
import { formFields } from './form.js';
import { errorPage, SECURITY_HEADERS } from './respond.js';
import { csrfMatches, CSRF_FIELD, sameOrigin, sessionOf } from './session.js';
import { appUrl, runUrl } from './views.js';

const AppName = z.object({ app: z.string().regex(/^[a-z0-9-]{1,63}$/) });
const RunId = z.object({ id: z.string().regex(/^[\w.-]{1,100}$/) });
const blank = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);

type Action = (req: FastifyRequest, fields: Record<string, string>, api: Api) => Promise<string>;

export function actionRoutes(ui: FastifyInstance, app: FastifyInstance, service: Service): void {
  const post = (path: string, action: Action) =>
    ui.post(path, async (req: FastifyRequest, reply: FastifyReply) => {
      const session = await sessionOf(service, req);
      if (!session) return errorPage(reply, new HttpError(401, 'UNAUTHORIZED', 'sign in first'));
      const fields = formFields(req);
      const presented = fields[CSRF_FIELD] ?? (req.headers['x-csrf-token'] as string | undefined);
      if (!sameOrigin(req) || !csrfMatches(session.secret, presented)) {
        service.log(`dashboard: refused a ${req.url.split('?')[0]} without a valid CSRF token`);
        return errorPage(
          reply,
          new HttpError(
            403,
            'FORBIDDEN',
            'refused: the form is stale or was not sent from this dashboard',
          ),
          session,
        );
      }
      try {
        const to = await action(req, fields, apiFor(app, session));
        return reply.status(303).headers(SECURITY_HEADERS).redirect(to);
      } catch (err) {
        return errorPage(reply, err, session);
      }
    });

  post('/apps/:app/run', async (req, f, api) => {
    const { app: name } = AppName.parse(req.params);
    const q = await api<ApiQueued>('POST', `/api/v1/apps/${name}/runs`, {
      branch: blank(f.branch),
      commit: blank(f.commit),
      reason: blank(f.reason) ?? 'from the dashboard',
    });
    return runUrl(q.run.id);
  });
  post('/runs/:id/cancel', async (req, _f, api) => {
    const { id } = RunId.parse(req.params);
    await api('POST', `/api/v1/runs/${encodeURIComponent(id)}/cancel`);
    return runUrl(id);
  });
  post('/runs/:id/rerun', async (req, _f, api) => {
    const { id } = RunId.parse(req.params);
    const q = await api<ApiQueued>('POST', `/api/v1/runs/${encodeURIComponent(id)}/rerun`);
    return runUrl(q.run.id);
  });
  post('/apps/:app/promote', async (req, f, api) => {
    const { app: name } = AppName.parse(req.params);
    await api('POST', `/api/v1/apps/${name}/models/promote`, {
      version: blank(f.version),
      channel: blank(f.channel) ?? 'latest',
    });
    return `${appUrl(name)}/models`;
  });
  post('/apps/:app/rollback', async (req, f, api) => {
    const { app: name } = AppName.parse(req.params);
    const revision = blank(f.revision);
    await api(
      'POST',
      `/api/v1/apps/${name}/rollback`,
      revision ? { revision: Number(revision) } : {},
    );
    return appUrl(name);
  });
}
