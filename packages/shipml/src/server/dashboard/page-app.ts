/**
 * App: its runs (why, commit, model, outcome, duration) with filters and pages, what is live
 * on its target, the revisions its runs deployed (with rollback), and its queue.
 */
import type { Api, ApiAppDetail, ApiRun, ApiRunList } from './api.js';
import { query } from './api.js';
import { ago, html, shortCommit, shortDigest, type Html } from './html.js';
import { BASE, csrfForm } from './layout.js';
import type { Session } from './session.js';
import { appUrl, liveCells, runLink, runsTable } from './views.js';

export interface AppFilters {
  status?: string | undefined;
  kind?: string | undefined;
  branch?: string | undefined;
  before?: string | undefined;
}

const STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'superseded',
  'interrupted',
];

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

/** Revisions the app's runs deployed, newest first (what `report.live` recorded). */
function revisions(runs: readonly ApiRun[]) {
  const seen = new Map<
    number,
    { run: ApiRun; live: NonNullable<NonNullable<ApiRun['report']>['live']> }
  >();
  for (const r of runs) {
    const live = r.report?.live;
    if (live && !seen.has(live.number)) seen.set(live.number, { run: r, live });
  }
  return [...seen.values()].sort((a, b) => b.live.number - a.live.number);
}

export async function appBody(
  api: Api,
  name: string,
  filters: AppFilters,
  session: Session,
  now: Date,
): Promise<Html> {
  const detail = await api<ApiAppDetail>('GET', `/api/v1/apps/${encodeURIComponent(name)}`);
  const [list, deploys, live] = await Promise.all([
    api<ApiRunList>('GET', `/api/v1/runs${query({ app: name, ...filters, limit: 50 })}`),
    api<ApiRunList>('GET', `/api/v1/runs${query({ app: name, status: 'succeeded', limit: 200 })}`),
    appLiveFragment(api, name, session, now, detail),
  ]);
  const liveNumber = detail.live.revision?.number;
  const history = revisions(deploys.runs);
  const select = (label: string, field: keyof AppFilters, options: string[]) =>
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
    <h2 id="runs-h">Runs</h2>
    <form class="filters" method="get" action="${appUrl(name)}" aria-labelledby="runs-h">
      ${select('Outcome', 'status', STATUSES)}${select('Kind', 'kind', ['run', 'release'])}${select('Branch', 'branch', detail.branches)}
      <button class="secondary">Filter</button>
    </form>
    ${runsTable(list.runs, now)}
    ${list.next ? html`<p><a href="${appUrl(name)}${query({ ...filters, before: list.next })}">Older runs</a></p>` : html``}
    <h2>Revisions</h2>
    ${
      history.length === 0
        ? html`<p class="muted">No run of this app deployed yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">Commit</th>
                <th scope="col">Model</th>
                <th scope="col">Image</th>
                <th scope="col">Deployed</th>
                <th scope="col">By run</th>
                ${session.admin ? html`<th scope="col">Action</th>` : html``}
              </tr>
            </thead>
            <tbody>
              ${history.map(
                ({ run, live }) =>
                  html`<tr>
                    <td>
                      ${live.number}${live.number === liveNumber ? html` <span class="badge s-succeeded">live</span>` : html``}
                    </td>
                    <td class="mono">${shortCommit(live.provenance.commit)}</td>
                    <td class="mono">
                      ${live.provenance.model ? `${live.provenance.model.name}@${live.provenance.model.version}` : ''}
                    </td>
                    <td class="mono" title="${live.image}">
                      ${shortDigest(live.image.split('@')[1])}
                    </td>
                    <td>${ago(live.deployedAt, now)}</td>
                    <td>${runLink(run)}</td>
                    ${session.admin ? html`<td>${live.number === liveNumber ? html`` : csrfForm(session, `${appUrl(name)}/rollback`, html`<input type="hidden" name="revision" value="${live.number}" /><button class="danger">Roll back to ${live.number}</button>`, { confirm: `Roll ${name} back to revision ${live.number}?`, label: `Roll back to revision ${live.number}` })}</td>` : html``}
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
