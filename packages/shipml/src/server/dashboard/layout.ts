/** The page shell every dashboard page shares: navigation, who is signed in, sign-out. */
import { html, type Html } from './html.js';
import { CSRF_FIELD, type Session } from './session.js';

export const BASE = '/ui';

export interface PageOptions {
  title: string;
  /** Which navigation entry is current. */
  nav?: 'overview' | 'service' | undefined;
  session?: Session | undefined;
  body: Html;
  /** Extra scripts and styles (the models page's chart library). */
  head?: Html | undefined;
}

export function page(o: PageOptions): string {
  const current = (name: string) => (o.nav === name ? html` aria-current="page"` : html``);
  const who = o.session
    ? html`<div class="who">
        <span>${o.session.token.name} (${o.session.admin ? 'admin' : 'read-only'})</span>
        ${csrfForm(o.session, `${BASE}/logout`, html`<button class="secondary">Sign out</button>`)}
      </div>`
    : html``;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${o.title} · ShipML</title>
        <link rel="stylesheet" href="${BASE}/assets/style.css" />
        ${o.head}
        <script src="${BASE}/assets/app.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="${BASE}/">ShipML</a> ${
            o.session
              ? html`<nav aria-label="Main">
                  <ul>
                    <li><a href="${BASE}/" ${current('overview')}>Overview</a></li>
                    <li><a href="${BASE}/service" ${current('service')}>Service</a></li>
                  </ul>
                </nav>`
              : html``
          }
          ${who}
        </header>
        <main id="main">${o.body}</main>
      </body>
    </html>`.text;
}

/** A POST form carrying the session's CSRF token; `confirm` asks first (destructive actions). */
export function csrfForm(
  session: Session,
  action: string,
  inner: Html,
  options: { confirm?: string; label?: string } = {},
): Html {
  return html`<form
    class="inline"
    method="post"
    action="${action}"
    ${options.confirm ? html` data-confirm="${options.confirm}"` : html``}${options.label ? html` aria-label="${options.label}"` : html``}
  >
    <input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}" />${inner}
  </form>`;
}
