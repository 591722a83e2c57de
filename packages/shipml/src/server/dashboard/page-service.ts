/**
 * Service: this process's worker (slots, lease, its runs), every running run with the worker
 * holding its lease (any process on the store), queue depth per app, and recent webhook
 * deliveries with their result and reason.
 */
import type { Service } from '../service.js';
import type { Api, ApiDeliveries } from './api.js';
import { ago, badge, html, tableOf, type Html } from './html.js';
import { BASE } from './layout.js';
import { appUrl, runUrl } from './views.js';

export const SERVICE_FRAGMENT = `${BASE}/fragments/service`;

export async function serviceFragment(api: Api, service: Service, now: Date): Promise<Html> {
  const { config } = service.options.loaded;
  const [depth, running, deliveries] = await Promise.all([
    service.store.queueDepth(),
    service.store.listRuns({ status: 'running', limit: 100 }),
    api<ApiDeliveries>('GET', '/api/v1/deliveries?limit=50'),
  ]);
  const mine = new Set(service.currentRuns());
  return html`<div class="grid">
      <section class="card" aria-labelledby="w-h">
        <h2 id="w-h">This process</h2>
        <dl class="kv">
          <dt>worker</dt>
          <dd class="mono">${service.workerId}</dd>
          <dt>slots</dt>
          <dd>${service.options.worker ? config.worker.slots : 0}</dd>
          <dt>lease</dt>
          <dd>${config.worker.leaseSeconds} s</dd>
          <dt>running here</dt>
          <dd>
            ${mine.size ? [...mine].map((id) => html`<a class="mono" href="${runUrl(id)}">${id}</a> `) : 'nothing'}
          </dd>
          <dt>store</dt>
          <dd>${service.store.kind}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="q-h">
        <h2 id="q-h">Queue depth</h2>
        ${tableOf(
          ['App', ['Queued', 'num'], ['Running', 'num']],
          depth.map(
            (d) =>
              html`<tr>
                <td><a href="${appUrl(d.app)}">${d.app}</a></td>
                <td class="num">${d.queued}</td>
                <td class="num">${d.running}</td>
              </tr>`,
          ),
          'Nothing queued or running.',
        )}
      </section>
    </div>
    <h2>Leases</h2>
    ${tableOf(
      ['Run', 'App', 'Worker', 'Started', 'Lease expires'],
      running.runs.map(
        (r) =>
          html`<tr>
            <td><a class="mono" href="${runUrl(r.id)}">${r.id}</a></td>
            <td>${r.app}</td>
            <td class="mono">
              ${r.worker ?? ''}${r.worker === service.workerId ? ' (this process)' : ''}
            </td>
            <td>${ago(r.startedAt, now)}</td>
            <td>
              ${r.leaseExpiresAt ? html`<time datetime="${r.leaseExpiresAt}">in ${Math.round((Date.parse(r.leaseExpiresAt) - now.getTime()) / 1000)} s</time>` : ''}
            </td>
          </tr>`,
      ),
      'No run is running.',
    )}
    <h2>Webhook deliveries</h2>
    ${tableOf(
      ['When', 'App', 'Source', 'Delivery', 'Result', 'Reason'],
      deliveries.deliveries.map(
        (d) =>
          html`<tr>
            <td>${ago(d.at, now)}</td>
            <td>${d.app}</td>
            <td>${d.source}</td>
            <td class="mono">${d.id ?? '—'}</td>
            <td>${badge(d.result)}</td>
            <td>${d.detail}</td>
          </tr>`,
      ),
      'No delivery received yet.',
    )}`;
}

export function serviceBody(fragment: Html): Html {
  return html`<h1>Service</h1>
    <div id="service" data-poll="${SERVICE_FRAGMENT}" data-every="5000">${fragment}</div>`;
}
