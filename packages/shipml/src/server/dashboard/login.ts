/**
 * Sign-in and sign-out. The token is posted once (never in a URL), checked like an API
 * bearer token, and kept in the session cookie; a wrong token gets the form again with one
 * line and a 401, saying nothing about which part was wrong.
 */
import type { FastifyInstance } from 'fastify';
import { authenticate } from '../api/tokens.js';
import type { Service } from '../service.js';
import { formFields } from './form.js';
import { html } from './html.js';
import { BASE, page } from './layout.js';
import {
  clearSession,
  csrfMatches,
  CSRF_FIELD,
  sameOrigin,
  sessionOf,
  setSession,
} from './session.js';
import { sendHtml, SECURITY_HEADERS } from './respond.js';

function loginPage(message?: string): string {
  return page({
    title: 'Sign in',
    body: html`<div class="login">
      <h1>Sign in to ShipML</h1>
      ${message ? html`<p class="failure" role="alert">${message}</p>` : html``}
      <form method="post" action="${BASE}/login">
        <label for="token"
          >API token<input
            id="token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
            spellcheck="false"
            placeholder="shipml_…"
        /></label>
        <p class="muted">
          Create one with <code>shipml token create --scope read</code> (or <code>admin</code> to
          act). It is kept in an httpOnly cookie on this browser only.
        </p>
        <button>Sign in</button>
      </form>
    </div>`,
  });
}

export function loginRoutes(ui: FastifyInstance, service: Service): void {
  ui.get('/login', async (req, reply) => {
    if (await sessionOf(service, req))
      return reply.status(303).headers(SECURITY_HEADERS).redirect(`${BASE}/`);
    return sendHtml(reply, 200, loginPage());
  });
  ui.post('/login', async (req, reply) => {
    if (!sameOrigin(req))
      return sendHtml(reply, 403, loginPage('This form must be sent from this server’s own page.'));
    const token = (formFields(req).token ?? '').trim();
    const auth = await authenticate(service.store, `Bearer ${token}`, new Date());
    if (!auth.ok) return sendHtml(reply, 401, loginPage(`Not signed in: ${auth.reason}.`));
    setSession(req, reply, token);
    service.log(`dashboard: ${auth.token.name} (${auth.token.id}, ${auth.token.scope}) signed in`);
    return reply.status(303).headers(SECURITY_HEADERS).redirect(`${BASE}/`);
  });
  ui.post('/logout', async (req, reply) => {
    const session = await sessionOf(service, req);
    if (session && !csrfMatches(session.secret, formFields(req)[CSRF_FIELD]))
      return sendHtml(reply, 403, loginPage('Sign-out refused: the form is stale or forged.'));
    clearSession(req, reply);
    return reply.status(303).headers(SECURITY_HEADERS).redirect(`${BASE}/login`);
  });
}
