/**
 * POST /hooks/{app}/{type}: one webhook delivery. The app's trigger of that type verifies it
 * (on the raw bytes) and says what to queue; the delivery is recorded whatever its result —
 * accepted, duplicate (a delivery id seen before: nothing queued again), ignored or rejected
 * — with a reason that never quotes a secret or a signature.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Service } from '../service.js';

const Params = z.object({ app: z.string().max(100), type: z.string().max(40) });

export function webhookRoute(app: FastifyInstance, service: Service): void {
  app.post('/hooks/:app/:type', async (req, reply) => {
    const params = Params.safeParse(req.params);
    const trigger = params.success ? service.hook(params.data.app, params.data.type) : undefined;
    if (!params.success || !trigger || !service.apps.has(params.data.app))
      return reply.status(404).send({
        error: {
          code: 'NOT_FOUND',
          message: 'no such app, or the app has no webhook trigger of this type',
        },
      });
    const { app: name, type } = params.data;
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = trigger.receive({ headers, body });
    const delivery = (
      result: 'accepted' | 'ignored' | 'rejected',
      id: string | undefined,
      detail: string,
    ) => ({ source: type, id, app: name, result, detail, at: new Date().toISOString() });
    switch (verdict.result) {
      case 'rejected':
        await service.receive(delivery('rejected', undefined, verdict.reason), []);
        service.log(`${name}: ${type} webhook rejected (${verdict.status}): ${verdict.reason}`);
        return reply.status(verdict.status).send({
          error: {
            code: verdict.status === 401 ? 'UNAUTHORIZED' : 'BAD_REQUEST',
            message: verdict.reason,
          },
        });
      case 'pong':
        await service.receive(delivery('ignored', verdict.deliveryId, 'ping'), []);
        return reply.send({ result: 'pong' });
      case 'ignored':
        await service.receive(delivery('ignored', verdict.deliveryId, verdict.reason), []);
        return reply.send({ result: 'ignored', reason: verdict.reason });
      case 'accepted': {
        const received = await service.receive(
          delivery('accepted', verdict.deliveryId, `${verdict.requests.length} request(s)`),
          verdict.requests,
        );
        if (received.delivery === 'duplicate')
          return reply.send({
            result: 'duplicate',
            reason: `delivery ${verdict.deliveryId} was already received`,
          });
        return reply
          .status(202)
          .send({ result: 'accepted', runs: received.queued.map((q) => q.run.id) });
      }
    }
  });
}
