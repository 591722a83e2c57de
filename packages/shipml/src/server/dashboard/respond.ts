/** How the dashboard answers: HTML with strict security headers, and error pages. */
import type { FastifyReply } from 'fastify';
import { HttpError } from '../api/errors.js';
import { ApiRefusal } from './api.js';
import { html } from './html.js';
import { BASE, page } from './layout.js';
import type { Session } from './session.js';

/** Headers of every dashboard answer: no framing, no inline script, no referrer leaks. */
export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function sendHtml(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.status(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(text);
}

/** A page for an API refusal or an unexpected error: its status, its one line. */
export function errorPage(reply: FastifyReply, err: unknown, session?: Session): FastifyReply {
  const status = err instanceof ApiRefusal || err instanceof HttpError ? err.status : 500;
  const message =
    err instanceof Error && status < 500 ? err.message : 'internal error (see the server log)';
  return sendHtml(
    reply,
    status,
    page({
      title: `Error ${status}`,
      session,
      body: html`<h1>
          ${status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong'}
        </h1>
        <p class="failure" role="alert">${message}</p>
        <p><a href="${BASE}/">Back to the overview</a></p>`,
    }),
  );
}
