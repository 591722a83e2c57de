/**
 * App: its runs (why, commit, model, outcome, duration) with filters and pages, what is live
 * on its target, its revision history from the target (page-app-revisions.ts, with
 * rollback), and its queue.
 */
import type { Api, ApiAppDetail, ApiRunList } from './api.js';
import { query } from './api.js';
import { ago, html, type Html } from './html.js';
import { revisionsSection } from './page-app-revisions.js';
import { BASE, csrfForm } from './layout.js';
import type { Session } from './session.js';
import { RUN_STATUSES } from '../store/types.js';
import { appUrl, liveCells, runLink, runsTable } from './views.js';

export interface AppFilters {
  status?: string | undefined;
  kind?: string | undefined;
  branch?: string | undefined;
  before?: string | undefined;
}

export const appFragmentUrl = (app: string) => `${BASE}/fragments/apps/${encodeURIComponent(app)}`;

/** The live part (polled): what serves, and the queue. */
export async function appLiveFragment(
  api: Api,
  name: string,
  session: Session,
  now: Date,
  known?: ApiAppDetail,
): Promise<Html> {
  const app = encodeURIComponent(name);
  const [detail, queued, running] = await Promise.all([
    known ?? api<ApiAppDetail>('GET', `/api/v1/apps/${app}`),
    api<ApiRunList>('GET', `/api/v1/runs${query({ app: name, status: 'queued', limit: 50 })}`),
    api<ApiRunList>('GET', `/api/v1/runs${query({ app: name, status: 'running', limit: 50 })}`),
  ]);
  const active = [...running.runs, ...queued.runs];
  return html`<div class="grid">
    <section class="card" aria-labelledby="live-h">
      <h2 id="live-h">Live</h2>
      ${liveCells(detail.live, now)}
    </section>
    <section class="card" aria-labelledby="queue-h">
      <h2 id="queue-h">Queue</h2>
      <p>${detail.queue.queued} queued · ${detail.queue.running} running</p>
      ${
        active.length
          ? html`<ul>
              ${active.map((r) => html`<li>${runLink(r)} ${r.status} ${ago(r.startedAt ?? r.queuedAt, now)}${session.admin ? html` ${csrfForm(session, `${BASE}/runs/${encodeURIComponent(r.id)}/cancel`, html`<button class="danger">Cancel</button>`, { confirm: `Cancel run ${r.id}?`, label: `Cancel run ${r.id}` })}` : html``}</li>`)}
            </ul>`
          : html``
      }
    </section>
  </div>`;
}

export async function appBody(
  api: Api,
  name: string,
  filters: AppFilters,
  session: Session,
  now: Date,
): Promise<Html> {
  const detail = await api<ApiAppDetail>('GET', `/api/v1/apps/${encodeURIComponent(name)}`);
  const [list, live, revisions] = await Promise.all([
    api<ApiRunList>('GET', `/api/v1/runs${query({ app: name, ...filters, limit: 50 })}`),
    appLiveFragment(api, name, session, now, detail),
    revisionsSection(api, name, session, now),
  ]);
  const select = (label: string, field: keyof AppFilters, options: readonly string[]) =>
    html`<label
      >${label}<select name="${field}">
        <option value="">any</option>
        ${options.map((o) => html`<option${filters[field] === o ? html` selected` : html``}>${o}</option>`)}
      </select></label
    >`;
  const runForm = session.admin
    ? csrfForm(
        session,
        `${appUrl(name)}/run`,
        html`<div class="actions">
          <label
            >Branch<select name="branch">
              ${detail.branches.map((b) => html`<option>${b}</option>`)}
            </select></label
          ><label
            >Commit (optional)<input
              name="commit"
              size="42"
              pattern="[0-9a-f]{40}"
              placeholder="branch head" /></label
          ><label>Reason<input name="reason" maxlength="200" placeholder="why" /></label
          ><button>Run now</button>
        </div>`,
        { label: 'Start a run' },
      )
    : html``;
  return html`<p class="muted"><a href="${BASE}/">Overview</a> › ${name}</p>
    <h1>${name}</h1>
    <p class="muted">
      <span class="mono">${detail.repository}</span> · branches ${detail.branches.join(', ')} ·
      release ${detail.release} · triggers
      ${detail.triggers.map((t) => t.type).join(', ') || 'none'} ·
      <a href="${appUrl(name)}/models">Models</a>
    </p>
    ${runForm}
    <div id="app-live" data-poll="${appFragmentUrl(name)}" data-every="5000">${live}</div>
    ${revisions}
    <h2 id="runs-h">Runs</h2>
    <form class="filters" method="get" action="${appUrl(name)}" aria-labelledby="runs-h">
      ${select('Outcome', 'status', RUN_STATUSES)}${select('Kind', 'kind', ['run', 'release'])}${select('Branch', 'branch', detail.branches)}
      <button class="secondary">Filter</button>
    </form>
    ${runsTable(list.runs, now)}
    ${list.next ? html`<p><a href="${appUrl(name)}${query({ ...filters, before: list.next })}">Older runs</a></p>` : html``}`;
}
