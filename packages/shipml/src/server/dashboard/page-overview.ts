/** Overview: every app, what is live on its target, its last run, what is queued or running. */
import type { Api, ApiApp, ApiAppDetail } from './api.js';
import { ago, badge, html, thead, type Html } from './html.js';
import { BASE } from './layout.js';
import { appUrl, liveCells, runLink } from './views.js';

export const OVERVIEW_FRAGMENT = `${BASE}/fragments/overview`;

export async function overviewFragment(api: Api, now: Date): Promise<Html> {
  const { apps } = await api<{ apps: ApiApp[] }>('GET', '/api/v1/apps');
  const details = await Promise.all(
    apps.map((a) =>
      api<ApiAppDetail>('GET', `/api/v1/apps/${encodeURIComponent(a.name)}`).catch(
        (err: Error) => err,
      ),
    ),
  );
  if (apps.length === 0) return html`<p class="muted">This server has no apps.</p>`;
  return html`<table>
    <caption class="muted">
      Updated ${ago(now.toISOString(), now)}
    </caption>
    ${thead(['App', 'Live', 'Last run', 'Queued / running'])}
    <tbody>
      ${apps.map((a, i) => {
        const d = details[i]!;
        const live =
          d instanceof Error
            ? html`<span class="muted">${d.message}</span>`
            : liveCells(d.live, now);
        const active =
          d instanceof Error
            ? []
            : d.runs.filter((r) => r.status === 'running' || r.status === 'queued');
        const last = a.lastRun;
        return html`<tr>
          <th scope="row">
            <a href="${appUrl(a.name)}">${a.name}</a><br /><span class="muted"
              >${a.branches.join(', ')}</span
            >
          </th>
          <td>${live}</td>
          <td>
            ${last ? html`${badge(last.status)} ${runLink(last)}<br />${ago(last.finishedAt ?? last.startedAt ?? last.queuedAt, now)}${last.error ? html`<br /><span class="muted">${last.error}</span>` : html``}` : html`<span class="muted">none yet</span>`}
          </td>
          <td>
            ${a.queue.queued} queued · ${a.queue.running}
            running${active.map((r) => html`<br />${badge(r.status)} ${runLink(r)}`)}
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export function overviewBody(fragment: Html): Html {
  return html`<h1>Overview</h1>
    <div id="apps" data-poll="${OVERVIEW_FRAGMENT}" data-every="4000">${fragment}</div>`;
}
