/**
 * The service's HTTP face (fastify): the REST API under /api/v1 (bearer tokens), webhooks
 * under /hooks/{app}/{type} (their own secrets, verified on the raw bytes), a run's log as
 * text and as server-sent events, /metrics, /healthz and /readyz. Bodies are read raw (at
 * most 1 MiB: 413 beyond) so a webhook's signature is checked on exactly the bytes sent.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Service } from '../service.js';
import { dashboardRoutes } from '../dashboard/index.js';
import { errorAnswer, HttpError } from './errors.js';
import { webhookRoute } from './hooks.js';
import { openApiDocument } from './openapi.js';
import { fastifyPath, type Route } from './route.js';
import { appRoutes } from './routes-apps.js';
import { runRoutes } from './routes-runs.js';
import { eventsRoute, logTextRoute } from './stream.js';
import { allows, authenticate } from './tokens.js';
import type { TokenRecord, TokenScope } from '../store/types.js';

export const BODY_LIMIT = 1024 * 1024;

export function apiRoutes(service: Service): Route[] {
  return [...appRoutes(service), ...runRoutes(service)];
}

export async function httpServer(service: Service, version: string): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false, return503OnClosing: true });
  const redact = (text: string) => service.options.redactor.redact(text);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, _req, reply) => {
    const answer = errorAnswer(err, redact);
    if (answer.unexpected) service.log(`http: ${redact(String((err as Error).stack ?? err))}`);
    void reply.status(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}`,
      },
    });
  });

  /** Authenticates a request for `scope`: 401 without a valid token, 403 with a weaker one. */
  const guard = async (req: FastifyRequest, scope: TokenScope): Promise<TokenRecord> => {
    const auth = await authenticate(service.store, req.headers.authorization, new Date());
    if (!auth.ok) throw new HttpError(401, 'UNAUTHORIZED', auth.reason);
    if (!allows(auth.token.scope, scope))
      throw new HttpError(
        403,
        'FORBIDDEN',
        `this needs an admin token (${auth.token.id} is read-only)`,
      );
    return auth.token;
  };

  const routes = apiRoutes(service);
  for (const r of routes) {
    app.route({
      method: r.method,
      url: fastifyPath(r.path),
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const token = await guard(req, r.scope);
        const params = r.params ? r.params.parse(req.params) : {};
        const query = r.query ? r.query.parse(req.query) : {};
        let body: unknown;
        if (r.body) {
          const raw = req.body as Buffer | undefined;
          let json: unknown = {};
          if (raw && raw.length > 0) {
            try {
              json = JSON.parse(raw.toString('utf8'));
            } catch {
              throw new HttpError(400, 'BAD_REQUEST', 'the body is not valid JSON');
            }
          }
          body = r.body.parse(json);
        }
        const result = await r.handler({ params, query, body, token });
        return reply.status(r.status ?? 200).send(r.response.parse(result));
      },
    });
  }
  const document = openApiDocument(routes, version, service.options.loaded.config.publicUrl);
  app.get('/api/v1/openapi.json', (_req, reply) => reply.send(document));

  logTextRoute(app, service, guard);
  eventsRoute(app, service, guard);
  webhookRoute(app, service);
  await dashboardRoutes(app, service, guard);

  // Public like /healthz (a scraper has no token): app names and counts, nothing secret.
  app.get('/metrics', async (_req, reply) => {
    const text = redact(await service.metrics.registry.metrics());
    return reply.type(service.metrics.registry.contentType).send(text);
  });
  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await service.store.ping();
      return { status: 'ready', store: service.store.kind };
    } catch (err) {
      return reply
        .status(503)
        .send({ status: 'unavailable', reason: redact((err as Error).message) });
    }
  });
  return app;
}
