/** A dashboard form post's fields (the service reads every body raw: a Buffer). */
import type { FastifyRequest } from 'fastify';

const MAX_FORM = 16 * 1024;

export function formFields(req: FastifyRequest): Record<string, string> {
  const body = req.body;
  const text = Buffer.isBuffer(body)
    ? body.subarray(0, MAX_FORM).toString('utf8')
    : typeof body === 'string'
      ? body.slice(0, MAX_FORM)
      : '';
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries(new URLSearchParams(text));
}
