/**
 * The web dashboard `shipml server` serves under /ui: server-rendered pages (overview, app,
 * run, models, service) with small islands of script, reading and acting through the REST
 * API with the signed-in user's token (api.ts). Sign-in posts a token once; it lives in an
 * httpOnly SameSite=Strict cookie; every POST carries a CSRF token (session.ts). A read token
 * sees no admin action, and the API refuses one if forged.
 */
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../api/errors.js';
import { eventsRoute, logTextRoute } from '../api/stream.js';
import type { Service } from '../service.js';
import type { TokenRecord, TokenScope } from '../store/types.js';
import { actionRoutes } from './actions.js';
import { apiFor, ApiRefusal, type Api, type ApiRun, type ApiRunChanges } from './api.js';
import { assetLoader } from './assets.js';
import type { Html } from './html.js';
import { BASE, page } from './layout.js';
import { loginRoutes } from './login.js';
import { appBody, appLiveFragment } from './page-app.js';
import { modelsBody, MODELS_HEAD } from './page-models.js';
import { overviewBody, overviewFragment } from './page-overview.js';
import { logSection, runBody, runLines, runSummary } from './page-run.js';
import { serviceBody, serviceFragment } from './page-service.js';
import { errorPage, sendHtml, SECURITY_HEADERS } from './respond.js';
import { sessionOf, type Session } from './session.js';

/** The API's bearer-token guard (http.ts), used when a dashboard request carries one. */
export type Guard = (req: FastifyRequest, scope: TokenScope) => Promise<TokenRecord>;

const AppName = z.object({ app: z.string().regex(/^[a-z0-9-]{1,63}$/) });
const RunId = z.object({ id: z.string().regex(/^[\w.-]{1,100}$/) });
const Filters = z.object({
  status: z.string().max(20).optional(),
  kind: z.string().max(20).optional(),
  branch: z.string().max(200).optional(),
  before: z.string().max(100).optional(),
});

/**
 * Mounts the dashboard on the service's fastify instance (after the API's routes: pages
 * call them through `app.inject`). `guard` is the API's bearer guard: the dashboard's log
 * stream accepts a bearer token as well as the session cookie.
 */
export async function dashboardRoutes(
  app: FastifyInstance,
  service: Service,
  guard?: Guard,
): Promise<void> {
  const asset = assetLoader();
  await app.register(
    async (ui) => {
      await ui.register(cookie);
      const redactErr = (err: unknown) =>
        service.log(
          `dashboard: ${service.options.redactor.redact(String((err as Error).stack ?? err))}`,
        );

      /** Runs a page handler with a session; no session: to the login form (or 401 for fragments). */
      const withSession =
        (
          fragment: boolean,
          handler: (
            req: FastifyRequest,
            reply: FastifyReply,
            s: Session,
            api: Api,
          ) => Promise<unknown>,
        ) =>
        async (req: FastifyRequest, reply: FastifyReply) => {
          const session = await sessionOf(service, req);
          if (!session) {
            if (fragment) return sendHtml(reply, 401, 'sign in again');
            return reply.status(303).headers(SECURITY_HEADERS).redirect(`${BASE}/login`);
          }
          try {
            return await handler(req, reply, session, apiFor(app, session));
          } catch (err) {
            if (
              !(err instanceof ApiRefusal) &&
              !(err instanceof HttpError) &&
              !(err instanceof z.ZodError)
            )
              redactErr(err);
            if (err instanceof z.ZodError)
              return errorPage(reply, new HttpError(400, 'BAD_REQUEST', 'bad request'), session);
            return errorPage(reply, err, session);
          }
        };
      const full = (
        reply: FastifyReply,
        session: Session,
        title: string,
        body: Html,
        extra: { nav?: 'overview' | 'service'; head?: Html } = {},
      ) => sendHtml(reply, 200, page({ title, session, body, ...extra }));
      const fragment = (reply: FastifyReply, body: Html) => sendHtml(reply, 200, body.text);
      /** A run, what changed in its image since the last build (both from the API), its log. */
      const runData = (api: Api, id: string) => {
        const path = `/api/v1/runs/${encodeURIComponent(id)}`;
        return Promise.all([
          api<ApiRun>('GET', path),
          api<ApiRunChanges>('GET', `${path}/changes`),
          runLines(service, id),
        ]);
      };

      ui.get('/assets/:name', async (req, reply) => {
        const a = await asset((req.params as { name: string }).name);
        if (!a)
          return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'no such asset' } });
        return reply
          .headers({ 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' })
          .type(a.type)
          .send(a.body);
      });

      loginRoutes(ui, service);
      actionRoutes(ui, app, service);

      ui.get(
        '/',
        withSession(false, async (_req, reply, s, api) => {
          const now = new Date();
          return full(reply, s, 'Overview', overviewBody(await overviewFragment(api, now)), {
            nav: 'overview',
          });
        }),
      );
      ui.get(
        '/fragments/overview',
        withSession(true, async (_req, reply, _s, api) =>
          fragment(reply, await overviewFragment(api, new Date())),
        ),
      );

      ui.get(
        '/apps/:app',
        withSession(false, async (req, reply, s, api) => {
          const { app: name } = AppName.parse(req.params);
          const filters = Filters.parse(req.query);
          return full(reply, s, name, await appBody(api, name, filters, s, new Date()));
        }),
      );
      ui.get(
        '/fragments/apps/:app',
        withSession(true, async (req, reply, s, api) => {
          const { app: name } = AppName.parse(req.params);
          return fragment(reply, await appLiveFragment(api, name, s, new Date()));
        }),
      );
      ui.get(
        '/apps/:app/models',
        withSession(false, async (req, reply, s, api) => {
          const { app: name } = AppName.parse(req.params);
          const body = await modelsBody(api, service, name, s, new Date());
          // uPlot (50 kB) only where there is a chart to draw.
          const chart = body.text.includes('id="chart"');
          return full(reply, s, `Models of ${name}`, body, chart ? { head: MODELS_HEAD } : {});
        }),
      );

      ui.get(
        '/runs/:id',
        withSession(false, async (req, reply, s, api) => {
          const { id } = RunId.parse(req.params);
          const [run, changes, { shown, all }] = await runData(api, id);
          const now = new Date();
          return full(
            reply,
            s,
            `Run ${id}`,
            runBody(
              runSummary(service, run, all, s, now, changes),
              logSection(run, shown, all.length),
              run,
            ),
          );
        }),
      );
      ui.get(
        '/runs/:id/summary',
        withSession(true, async (req, reply, s, api) => {
          const { id } = RunId.parse(req.params);
          const [run, changes, { all }] = await runData(api, id);
          return fragment(reply, runSummary(service, run, all, s, new Date(), changes));
        }),
      );

      ui.get(
        '/service',
        withSession(false, async (_req, reply, s, api) =>
          full(reply, s, 'Service', serviceBody(await serviceFragment(api, service, new Date())), {
            nav: 'service',
          }),
        ),
      );
      ui.get(
        '/fragments/service',
        withSession(true, async (_req, reply, _s, api) =>
          fragment(reply, await serviceFragment(api, service, new Date())),
        ),
      );

      // The run's log for the browser: the API's own stream and text routes, mounted here
      // with a guard that reads the session cookie (EventSource cannot send a header).
      const cookieGuard: Guard = async (req, scope) => {
        if (req.headers.authorization && guard) return guard(req, scope);
        const session = await sessionOf(service, req);
        if (!session) throw new HttpError(401, 'UNAUTHORIZED', 'sign in to the dashboard first');
        if (scope === 'admin' && !session.admin)
          throw new HttpError(403, 'FORBIDDEN', 'this needs an admin token');
        return session.token;
      };
      eventsRoute(ui, service, cookieGuard);
      ui.get('/runs/:id/log.txt', async (req, reply) => {
        const { id } = RunId.parse(req.params);
        return reply.redirect(`${BASE}/api/v1/runs/${encodeURIComponent(id)}/log.txt`);
      });
      logTextRoute(ui, service, cookieGuard);
    },
    { prefix: BASE },
  );

  app.get('/', (_req, reply) => reply.redirect(`${BASE}/`));
}
