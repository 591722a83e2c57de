/**
 * A run's log for people and tools: GET /api/v1/runs/{id}/log.txt (plain text, everything so
 * far) and GET /api/v1/runs/{id}/events (server-sent events: one `log` event per line with
 * its seq as the event id, so a client that reconnects with Last-Event-ID resumes exactly
 * after the last line it saw; an `end` event with the run's status once it is final).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError } from '../../core/errors.js';
import type { Service } from '../service.js';
import type { TokenRecord, TokenScope } from '../store/types.js';
import { RunParams } from './schemas.js';
import { FINAL_STATUSES as FINAL } from '../store/types.js';

type Guard = (req: FastifyRequest, scope: TokenScope) => Promise<TokenRecord>;

const POLL_MS = 250;
const HEARTBEAT_MS = 15_000;
/** A follower is let go after this long (it reconnects with Last-Event-ID and goes on). */
const MAX_STREAM_MS = 30 * 60_000;

export function logTextRoute(app: FastifyInstance, service: Service, guard: Guard): void {
  app.get('/api/v1/runs/:id/log.txt', async (req, reply) => {
    await guard(req, 'read');
    const { id } = RunParams.parse(req.params);
    if (!(await service.store.getRun(id))) throw new NotFoundError(`no run ${id}`);
    const out: string[] = [];
    for (let after = 0; ;) {
      const lines = await service.store.readLog(id, after, 5000);
      for (const l of lines) out.push(`${l.at} ${l.stage.padEnd(11)} ${l.line}`);
      if (lines.length < 5000) break;
      after = lines.at(-1)!.seq;
    }
    return reply.type('text/plain; charset=utf-8').send(out.join('\n') + (out.length ? '\n' : ''));
  });
}

export function eventsRoute(app: FastifyInstance, service: Service, guard: Guard): void {
  app.get('/api/v1/runs/:id/events', async (req, reply) => {
    await guard(req, 'read');
    const { id } = RunParams.parse(req.params);
    if (!(await service.store.getRun(id))) throw new NotFoundError(`no run ${id}`);
    const header = req.headers['last-event-id'];
    const resume = Number(Array.isArray(header) ? header[0] : header);
    const query = Number((req.query as { after?: string }).after);
    let after =
      Number.isInteger(resume) && resume > 0
        ? resume
        : Number.isInteger(query) && query > 0
          ? query
          : 0;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    req.raw.on('close', () => (closed = true));
    res.write('retry: 2000\n\n');
    const started = Date.now();
    let lastWrite = Date.now();
    try {
      while (!closed && Date.now() - started < MAX_STREAM_MS) {
        const run = await service.store.getRun(id);
        const lines = await service.store.readLog(id, after, 1000);
        for (const l of lines) {
          res.write(`id: ${l.seq}\nevent: log\ndata: ${JSON.stringify(l)}\n\n`);
          after = l.seq;
        }
        if (lines.length > 0) lastWrite = Date.now();
        if (lines.length < 1000 && run && FINAL.has(run.status)) {
          res.write(
            `event: end\ndata: ${JSON.stringify({ status: run.status, error: run.error })}\n\n`,
          );
          break;
        }
        if (Date.now() - lastWrite > HEARTBEAT_MS) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        if (lines.length < 1000) await sleep(POLL_MS);
      }
    } catch (err) {
      service.log(`events of run ${id}: ${(err as Error).message}`);
    } finally {
      res.end();
    }
  });
}
