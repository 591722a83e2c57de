import multipart from '@fastify/multipart';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { Batcher } from './batcher.js';
import { QueueFullError } from './batcher.js';
import type { Config } from './config.js';
import type { ErrorCode } from './errors.js';
import { ApiError, errorBody } from './errors.js';
import type { Batch, InputLimits } from './input.js';
import { checkBatchSize, decodeImage, parseJsonBody } from './input.js';
import type { Metrics } from './metrics.js';
import type { DigitModel } from './model.js';
import { INPUT_SIZE } from './model.js';
import type { VersionInfo } from './version.js';

export type Phase = 'starting' | 'ready' | 'draining' | 'failed';

/** What the HTTP layer needs from the service around it. */
export interface AppContext {
  config: Config;
  logger: FastifyBaseLogger;
  metrics: Metrics;
  /** The page served at `/`. */
  page: string;
  phase(): Phase;
  /** The loaded model and its batcher, once loading finished. */
  model(): { model: DigitModel; batcher: Batcher } | undefined;
  version(): VersionInfo;
}

/** One scored input in the /predict response. */
export interface Prediction {
  label: string;
  confidence: number;
  probabilities: number[];
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Builds the Fastify app: routes, limits, error mapping, request metrics. Does not listen. */
export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const { config, metrics } = ctx;
  const limits: InputLimits = config.limits;
  const app = Fastify({
    loggerInstance: ctx.logger,
    // Access lines are written by the onResponse hook below, with the route and duration.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.bodyLimit,
    // Requests arriving on kept-alive connections while closing get 503 and `Connection: close`.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // Only JSON and multipart are accepted on POST; everything else is a 415.
  app.removeContentTypeParser('text/plain');
  await app.register(multipart, {
    limits: {
      fileSize: config.limits.maxImageBytes,
      files: config.limits.maxBatch + 1,
      fields: 16,
      parts: config.limits.maxBatch + 17,
      fieldSize: 1024,
    },
  });

  app.addHook('onRequest', (_request, _reply, done) => {
    metrics.inFlight.inc();
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    // While draining, ask clients to reconnect (elsewhere) so no kept-alive socket holds us open.
    if (ctx.phase() === 'draining') void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.inFlight.dec();
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    metrics.requests.inc(labels);
    metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
    request.log.info({ ...labels, ms: round(reply.elapsedTime) }, 'request completed');
    done();
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, code, message } = toApiError(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code, status, url: request.url }, message);
    return reply.code(status).send(errorBody(code, message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}`)),
  );

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(ctx.page));

  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', (_request, reply) => {
    const phase = ctx.phase();
    return reply.code(phase === 'ready' ? 200 : 503).send({ status: phase });
  });

  app.get('/version', () => ctx.version());

  app.get('/metrics', async (_request, reply) => {
    metrics.queueDepth.set(ctx.model()?.batcher.depth ?? 0);
    metrics.ready.set(ctx.phase() === 'ready' ? 1 : 0);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post('/predict', async (request) => {
    const loaded = ctx.model();
    if (!loaded) throw new ApiError(503, 'not_ready', 'the model is still loading; retry shortly');
    const batch = request.isMultipart()
      ? await readMultipart(request, limits, config.limits.bodyLimit)
      : readJson(request, limits);
    let probabilities: Float32Array;
    try {
      probabilities = await loaded.batcher.submit(batch.inputs, batch.count);
    } catch (err) {
      if (err instanceof QueueFullError) throw new ApiError(503, 'overloaded', err.message);
      throw err;
    }
    const { labels } = loaded.model;
    const classes = labels.length;
    const predictions: Prediction[] = [];
    for (let n = 0; n < batch.count; n++) {
      const p = Array.from(probabilities.subarray(n * classes, (n + 1) * classes), round);
      let best = 0;
      for (let k = 1; k < classes; k++)
        if (probabilities[n * classes + k]! > probabilities[n * classes + best]!) best = k;
      const label = labels[best]!;
      metrics.countPrediction(label);
      predictions.push({ label, confidence: p[best]!, probabilities: p });
    }
    return { predictions, labels };
  });

  return app;
}

function readJson(request: FastifyRequest, limits: InputLimits): Batch {
  const type = request.headers['content-type'];
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(
      415,
      'unsupported_media_type',
      'send application/json or multipart/form-data',
    );
  }
  return parseJsonBody(request.body, limits);
}

/** Every file part is one PNG; other fields are ignored. The total size is bounded too. */
async function readMultipart(
  request: FastifyRequest,
  limits: InputLimits,
  bodyLimit: number,
): Promise<Batch> {
  const decoded: Float32Array[] = [];
  let total = 0;
  for await (const part of request.parts()) {
    if (part.type !== 'file') continue;
    const where = `file ${decoded.length} (${part.fieldname}${part.filename ? `: ${part.filename}` : ''})`;
    if (decoded.length >= limits.maxBatch) checkBatchSize(decoded.length + 1, limits);
    const bytes = await part.toBuffer();
    total += bytes.length;
    if (total > bodyLimit) {
      throw new ApiError(
        413,
        'payload_too_large',
        `the images add up to more than ${bodyLimit} bytes`,
      );
    }
    decoded.push(decodeImage(bytes, limits, where));
  }
  checkBatchSize(decoded.length, limits);
  const inputs = new Float32Array(decoded.length * INPUT_SIZE);
  decoded.forEach((d, n) => inputs.set(d, n * INPUT_SIZE));
  return { inputs, count: decoded.length };
}

const FASTIFY_CODES: Record<string, [number, ErrorCode]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_input'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
  FST_REQ_FILE_TOO_LARGE: [413, 'image_too_large'],
  FST_FILES_LIMIT: [413, 'batch_too_large'],
  FST_PARTS_LIMIT: [413, 'batch_too_large'],
  FST_FIELDS_LIMIT: [413, 'payload_too_large'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'unsupported_media_type'],
};

/** The one place errors become HTTP statuses. */
function toApiError(err: FastifyError): { status: number; code: ErrorCode; message: string } {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
  const known = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (known) {
    const message =
      known[1] === 'unsupported_media_type'
        ? 'unsupported content type: send application/json or multipart/form-data'
        : err.message;
    return { status: known[0], code: known[1], message };
  }
  if (err instanceof SyntaxError)
    return { status: 400, code: 'invalid_json', message: `body is not valid JSON: ${err.message}` };
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, code: 'invalid_input', message: err.message };
  }
  return { status: 500, code: 'internal', message: 'internal error' };
}
