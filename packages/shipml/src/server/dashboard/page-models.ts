/**
 * Models: the versions of an app's model with their metrics and channels, which one is in
 * production, a chart of one metric across versions with the gate's bounds drawn (uPlot),
 * and promote.
 */
import { headConfig } from '../app-runtime.js';
import type { Service } from '../service.js';
import type { Api, ApiModels } from './api.js';
import { ago, html, raw, jsonScript, shortDigest, thead, type Column, type Html } from './html.js';
import { BASE, csrfForm } from './layout.js';
import type { Session } from './session.js';
import { appUrl } from './views.js';

type Bounds = Record<string, { min?: number | undefined; max?: number | undefined }>;

/** The gate's thresholds in the app's shipml.yaml at its branch head ({} when it has none). */
async function gateOf(service: Service, app: string): Promise<Bounds> {
  try {
    const { loaded } = await headConfig(
      service.workspaces,
      service.app(app),
      service.options.loaded.dataDir,
      service.options.env,
      AbortSignal.timeout(10_000),
    );
    return loaded.config.gate?.thresholds ?? {};
  } catch {
    return {};
  }
}

export const MODELS_HEAD = raw(
  `<link rel="stylesheet" href="${BASE}/assets/uplot.css"><script src="${BASE}/assets/uplot.js" defer></script>`,
);

export async function modelsBody(
  api: Api,
  service: Service,
  name: string,
  session: Session,
  now: Date,
): Promise<Html> {
  const [models, gate] = await Promise.all([
    api<ApiModels>('GET', `/api/v1/apps/${encodeURIComponent(name)}/models`),
    gateOf(service, name),
  ]);
  const crumbs = html`<p class="muted">
    <a href="${BASE}/">Overview</a> › <a href="${appUrl(name)}">${name}</a> › models
  </p>`;
  if (!models.model)
    return html`${crumbs}
      <h1>Models of ${name}</h1>
      <p class="note">${name} ships no model (no <code>model.name</code> in its shipml.yaml).</p>`;
  // Oldest first on the chart, newest first in the table.
  const versions = [...models.versions].sort((a, b) => a.created.localeCompare(b.created));
  const numeric = [
    ...new Set(
      versions.flatMap((v) =>
        Object.entries(v.metrics ?? {})
          .filter(([, x]) => typeof x === 'number')
          .map(([k]) => k),
      ),
    ),
  ];
  const chosen = numeric.find((m) => gate[m]) ?? numeric[0];
  const chart = {
    versions: versions.map((v) => ({ version: v.version, metrics: v.metrics ?? {} })),
    gate,
  };
  const channel = models.channel ?? 'latest';
  return html`${crumbs}
    <h1>Models of ${name}: <span class="mono">${models.model}</span></h1>
    <p>
      Builds take channel <strong>${channel}</strong>. In production:
      <strong class="mono">${models.production ?? 'unknown'}</strong>. Channels:
      ${models.channels.map((c) => html`<span class="mono">${c.channel} → ${c.version}</span> `)}
    </p>
    ${
      numeric.length
        ? html`<h2 id="chart-h">Metric across versions</h2>
            <div class="filters">
              <label
                >Metric<select id="metric">
                  ${numeric.map((m) => html`<option${m === chosen ? html` selected` : html``}>${m}</option>`)}
                </select></label
              >
              ${chosen && gate[chosen] ? html`<span class="muted">dashed: the gate's bound</span>` : html``}
            </div>
            <div id="chart" class="chart" role="img" aria-labelledby="chart-h"></div>
            ${jsonScript('chart-data', chart)}`
        : html``
    }
    <h2>Versions</h2>
    <table>
      ${thead([
        'Version',
        'Created',
        'Digest',
        'Channels',
        ...numeric.map((m): Column => [
          html`${m}${gate[m] ? html`<br /><span class="muted">${gate[m].min !== undefined ? `≥ ${gate[m].min}` : ''}${gate[m].max !== undefined ? ` ≤ ${gate[m].max}` : ''}</span>` : html``}`,
          'num',
        ]),
        session.admin && 'Promote',
      ])}
      <tbody>
        ${[...versions].reverse().map(
          (v) =>
            html`<tr>
              <th scope="row" class="mono">
                ${v.version}${v.version === models.production ? html` <span class="badge s-succeeded">production</span>` : html``}
              </th>
              <td>${ago(v.created, now)}</td>
              <td class="mono" title="${v.digest}">${shortDigest(v.digest)}</td>
              <td>${v.channels.join(', ')}</td>
              ${numeric.map((m) => html`<td class="num mono">${v.metrics?.[m] === undefined ? '' : JSON.stringify(v.metrics[m])}</td>`)}${session.admin ? html`<td>${v.channels.includes(channel) ? html`<span class="muted">on ${channel}</span>` : csrfForm(session, `${appUrl(name)}/promote`, html`<input type="hidden" name="version" value="${v.version}" /><input type="hidden" name="channel" value="${channel}" /><button class="secondary">Promote to ${channel}</button>`, { confirm: `Point ${models.model}:${channel} at ${v.version}? The model watch then ships it.`, label: `Promote ${v.version}` })}</td>` : html``}
            </tr>`,
        )}
      </tbody>
    </table>`;
}
