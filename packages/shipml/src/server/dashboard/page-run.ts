/**
 * Run: the failure in one line at the top, why it ran, the stage timeline, its inputs
 * (commit, model with digest, config hash), the image and its layers with what changed since
 * the previous build, the gate's checks (page-run-panels.ts),
 * what serves after it, and the live log (server-rendered so far, then server-sent events).
 */
import type { Service } from '../service.js';
import { displayRepository } from '../workspace.js';
import type { ApiRun, ApiRunChanges } from './api.js';
import { gatePanel, layersTable } from './page-run-panels.js';
import { ago, badge, html, shortCommit, shortDigest, type Html } from './html.js';
import { BASE, csrfForm } from './layout.js';
import type { Session } from './session.js';
import { stageBars, timeline } from './timeline.js';
import { appUrl, FINAL, modelOf, runDuration, runLink, runUrl, why } from './views.js';

type Line = { seq: number; at: string; stage: string; line: string };

/** Lines rendered into the page at once; the rest arrive over the event stream. */
const PAGE_LINES = 5000;
/** Lines read (for stage markers) beyond those shown, at most. */
const SCAN_LINES = 50_000;

export async function runLines(
  service: Service,
  id: string,
): Promise<{ shown: Line[]; all: Line[] }> {
  const all: Line[] = [];
  for (let after = 0; all.length < SCAN_LINES;) {
    const batch = await service.store.readLog(id, after, 5000);
    all.push(...batch);
    if (batch.length < 5000) break;
    after = batch.at(-1)!.seq;
  }
  return { shown: all.slice(0, PAGE_LINES), all };
}

function commitLink(service: Service, run: ApiRun, commit: string): Html {
  const repo = service.apps.get(run.app)?.repository;
  const shown = repo ? displayRepository(repo) : '';
  // Link only to hosts with a web view of commits (GitHub, GitLab, Azure DevOps, ...).
  if (/^https:\/\//.test(shown)) {
    const base = shown.replace(/\.git$/, '');
    return html`<a class="mono" href="${`${base}/commit/${commit}`}">${commit}</a>`;
  }
  return html`<span class="mono">${commit}</span>`;
}

export function runSummary(
  service: Service,
  run: ApiRun,
  lines: readonly Line[],
  session: Session,
  now: Date,
  changes?: ApiRunChanges,
): Html {
  const r = run.report;
  const failure = r?.failure ? `${r.failure.stage}: ${r.failure.message}` : run.error;
  const final = FINAL.has(run.status);
  const actions = session.admin
    ? html`<div class="actions">
        ${final ? csrfForm(session, `${runUrl(run.id)}/rerun`, html`<button>Run again</button>`, { label: 'Run again' }) : csrfForm(session, `${runUrl(run.id)}/cancel`, html`<button class="danger">Cancel run</button>`, { confirm: `Cancel run ${run.id}?`, label: 'Cancel run' })}
      </div>`
    : html``;
  const inputs = r?.inputs;
  const commit = inputs?.commit ?? run.commit;
  return html`${failure && run.status !== 'succeeded' ? html`<p class="failure" role="alert">${run.status}: ${failure}</p>` : html``}
    <h1>Run <span class="mono">${run.id}</span> ${badge(run.status)}</h1>
    <p>
      ${run.kind} of
      <a href="${appUrl(run.app)}">${run.app}</a>${run.branch ? ` on ${run.branch}` : ''} ·
      ${why(run)}
    </p>
    <p class="muted">
      queued
      ${ago(run.queuedAt, now)}${run.startedAt ? html` · started ${ago(run.startedAt, now)}` : html``}${run.finishedAt ? html` · finished ${ago(run.finishedAt, now)}` : html``}
      · ${runDuration(run, now) || 'not started'}${run.worker ? ` · worker ${run.worker}` : ''} ·
      attempt
      ${run.attempt}${run.retryOf ? html` · retry of <a href="${runUrl(run.retryOf)}">${run.retryOf}</a>` : html``}${run.supersededBy ? html` · superseded by <a href="${runUrl(run.supersededBy)}">${run.supersededBy}</a>` : html``}
    </p>
    ${actions}
    <h2>Stages</h2>
    ${timeline(stageBars(run, lines), now)}
    <div class="grid">
      <section class="card" aria-labelledby="in-h">
        <h2 id="in-h">Inputs</h2>
        <dl class="kv">
          <dt>commit</dt>
          <dd>
            ${commit ? commitLink(service, run, commit) : html`<span class="muted">branch head when it starts</span>`}${inputs?.dirty ? ' (dirty)' : ''}
          </dd>
          <dt>model</dt>
          <dd class="mono">
            ${modelOf(run) || '—'}${inputs?.model ? html`<br /><span title="${inputs.model.digest}">${inputs.model.digest.slice(0, 19)}…</span>` : html``}
          </dd>
          <dt>config hash</dt>
          <dd class="mono" title="${inputs?.configHash ?? ''}">
            ${inputs?.configHash ? shortDigest(inputs.configHash) : '—'}
          </dd>
          ${
            run.image
              ? html`<dt>image to release</dt>
                  <dd class="mono">${run.image}</dd>`
              : html``
          }
        </dl>
      </section>
      <section class="card" aria-labelledby="after-h">
        <h2 id="after-h">Serves after the run</h2>
        ${
          r?.live
            ? html`<dl class="kv">
                <dt>revision</dt>
                <dd>${r.live.number}</dd>
                <dt>image</dt>
                <dd class="mono">${r.live.image}</dd>
                <dt>commit</dt>
                <dd class="mono">${shortCommit(r.live.provenance.commit)}</dd>
                <dt>model</dt>
                <dd class="mono">
                  ${r.live.provenance.model ? `${r.live.provenance.model.name}@${r.live.provenance.model.version}` : '—'}
                </dd>
                <dt>since</dt>
                <dd>${ago(r.live.deployedAt, now)}</dd>
                ${
                  r.url
                    ? html`<dt>url</dt>
                        <dd><a href="${r.url}">${r.url}</a></dd>`
                    : html``
                }
              </dl>`
            : html`<p class="muted">
                ${run.deploys ? (final ? 'the run did not deploy' : 'not deployed yet') : 'this run does not deploy (release: manual)'}
              </p>`
        }
      </section>
      <section class="card wide" aria-labelledby="img-h">
        <h2 id="img-h">Image</h2>
        ${
          r?.image
            ? html`<p class="mono">${r.image.reference}</p>
                ${r.reusedFrom ? html`<p>reused from ${runLink({ ...run, id: r.reusedFrom })} (same inputs)</p>` : html``}`
            : html`<p class="muted">no image${final ? '' : ' yet'}</p>`
        }
        ${layersTable(run, changes)}
      </section>
      ${gatePanel(run, lines, final)}
    </div>`;
}

export function logSection(run: ApiRun, shown: readonly Line[], total: number): Html {
  const last = shown.at(-1)?.seq ?? 0;
  const final = FINAL.has(run.status);
  return html`<h2 id="log-h">Log</h2>
    <div class="logbar">
      <label class="check"><input type="checkbox" id="follow" checked /> Follow</label>
      <span id="log-state" role="status" class="muted">${final ? 'finished' : 'connecting'}</span>
      <a href="${runUrl(run.id)}/log.txt">Plain text</a
      >${total > shown.length ? html` <span class="muted">(first ${shown.length} of ${total}+ lines shown here, the rest follow)</span>` : html``}
    </div>
    <pre
      id="log"
      tabindex="0"
      aria-labelledby="log-h"
      data-after="${last}"
      data-events="${BASE}/api/v1/runs/${encodeURIComponent(run.id)}/events"
    >
${shown.map((l) => html`<span class="l" data-seq="${l.seq}"><span class="st">${l.at.slice(11, 19)} ${l.stage.padEnd(12).slice(0, 12)}</span>${l.line}</span>`)}</pre>`;
}

export function runBody(summary: Html, log: Html, run: ApiRun): Html {
  return html`<p class="muted">
      <a href="${BASE}/">Overview</a> › <a href="${appUrl(run.app)}">${run.app}</a> › run
    </p>
    <div id="summary" data-src="${runUrl(run.id)}/summary">${summary}</div>
    ${log}`;
}
