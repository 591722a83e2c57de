/** Pieces several pages show: a run's row, why it ran, what is live on a target. */
import type { ApiAppDetail, ApiRun } from './api.js';
import {
  ago,
  badge,
  between,
  duration,
  html,
  shortCommit,
  shortDigest,
  tableOf,
  type Html,
} from './html.js';
import { BASE } from './layout.js';

export { FINAL_STATUSES as FINAL } from '../store/types.js';

export const appUrl = (app: string) => `${BASE}/apps/${encodeURIComponent(app)}`;
export const runUrl = (id: string) => `${BASE}/runs/${encodeURIComponent(id)}`;

/** "commit via github by octocat: …" — the trigger, its source, who and why. */
export function why(run: ApiRun): Html {
  const c = run.cause;
  return html`<span>${c.trigger}</span>
    <span class="muted">via ${c.source}${c.pusher ? ` by ${c.pusher}` : ''}</span
    >${c.detail ? html`<br /><span class="muted">${c.detail}</span>` : html``}`;
}

export function modelOf(run: ApiRun): string {
  const m = run.report?.inputs?.model;
  return m ? `${m.name}@${m.version}` : (run.modelRef ?? '');
}

export function runDuration(run: ApiRun, now: Date): string {
  return duration(between(run.startedAt, run.finishedAt, now));
}

export function runLink(run: ApiRun): Html {
  return html`<a href="${runUrl(run.id)}" class="mono">${run.id}</a>`;
}

export function runsTable(
  runs: readonly ApiRun[],
  now: Date,
  options: { app?: boolean } = {},
): Html {
  return tableOf(
    [
      'Run',
      options.app === true && 'App',
      'Outcome',
      'Why',
      'Commit',
      'Model',
      ['Duration', 'num'],
      'Queued',
    ],
    runs.map(
      (r) =>
        html`<tr>
          <td>
            ${runLink(r)}${r.kind === 'release' ? html` <span class="muted">release</span>` : html``}
          </td>
          ${options.app ? html`<td><a href="${appUrl(r.app)}">${r.app}</a></td>` : html``}
          <td>${badge(r.status)}</td>
          <td>${why(r)}</td>
          <td class="mono" title="${r.commit ?? ''}">
            ${shortCommit(r.commit ?? r.report?.inputs?.commit)}${r.branch ? html` <span class="muted">${r.branch}</span>` : html``}
          </td>
          <td class="mono">${modelOf(r)}</td>
          <td class="num">${runDuration(r, now)}</td>
          <td>${ago(r.queuedAt, now)}</td>
        </tr>`,
    ),
    'No runs.',
  );
}

/** What serves on the app's target: revision, commit, model, image, since when, replicas. */
export function liveCells(live: ApiAppDetail['live'], now: Date): Html {
  if (live.error) return html`<span class="muted">${live.target}: ${live.error}</span>`;
  const rev = live.revision;
  if (!rev) return html`<span class="muted">nothing deployed on ${live.target}</span>`;
  const p = rev.provenance;
  const digest = rev.image.includes('@') ? rev.image.slice(rev.image.indexOf('@') + 1) : '';
  return html`<dl class="kv">
    <dt>target</dt>
    <dd>${live.target} · revision ${rev.number}</dd>
    <dt>commit</dt>
    <dd class="mono" title="${p.commit ?? ''}">${shortCommit(p.commit) || '—'}</dd>
    <dt>model</dt>
    <dd class="mono">${p.model ? `${p.model.name}@${p.model.version}` : '—'}</dd>
    <dt>image</dt>
    <dd class="mono" title="${rev.image}">
      ${digest ? `sha256:${shortDigest(digest)}` : rev.image}
    </dd>
    <dt>since</dt>
    <dd>${ago(rev.deployedAt, now)}</dd>
    <dt>replicas</dt>
    <dd>
      ${live.replicas ? `${live.replicas.ready}/${live.replicas.desired} ready` : '—'}${live.rollout ? html` <span class="muted">${live.rollout}</span>` : html``}
    </dd>
    ${
      live.url
        ? html`<dt>url</dt>
            <dd><a href="${live.url}">${live.url}</a></dd>`
        : html``
    }
  </dl>`;
}
