/**
 * The App page's revision history, as the app's deploy target reports it (the API's
 * /apps/{app}/revisions, the same answer `shipml` clients get): every kept revision with its
 * commit, model and image, which one is live, and — for admin tokens — a rollback per
 * non-live revision (confirmed first; the API refuses it to a read token anyway).
 */
import { ApiRefusal, type Api, type ApiRevisions } from './api.js';
import { ago, html, shortCommit, shortDigest, thead, type Html } from './html.js';
import { csrfForm } from './layout.js';
import type { Session } from './session.js';
import { appUrl, runUrl } from './views.js';

export async function revisionsSection(
  api: Api,
  name: string,
  session: Session,
  now: Date,
): Promise<Html> {
  let answer: ApiRevisions;
  try {
    answer = await api<ApiRevisions>('GET', `/api/v1/apps/${encodeURIComponent(name)}/revisions`);
  } catch (err) {
    // No deploy section, or the target did not answer: say so, the rest of the page stands.
    if (!(err instanceof ApiRefusal)) throw err;
    return section(html`<p class="muted" id="revisions-error">${err.message}</p>`);
  }
  const { revisions } = answer;
  if (revisions.length === 0)
    return section(
      html`<p class="muted">Nothing deployed on ${answer.target} as ${answer.app} yet.</p>`,
    );
  const button = (n: number) => html`<button class="danger">${`Roll back to ${n}`}</button>`;
  const rollback = (n: number) =>
    csrfForm(
      session,
      `${appUrl(name)}/rollback`,
      html`<input type="hidden" name="revision" value="${n}" />${button(n)}`,
      { confirm: `Roll ${name} back to revision ${n}?`, label: `Roll back to revision ${n}` },
    );
  // A rollback redeploys an earlier revision's image: say which, rather than nothing.
  const sameAs = (r: ApiRevisions['revisions'][number]) => {
    const earlier = revisions.find((o) => o.number < r.number && o.image === r.image);
    return earlier
      ? html`<span class="muted">image of ${earlier.number}</span>`
      : html`<span class="muted" title="not deployed by one of the app's recent runs">—</span>`;
  };
  return section(
    html`<p class="muted">
        On ${answer.target} as <span class="mono">${answer.app}</span>, newest first.
      </p>
      <table id="revisions">
        ${thead([
          'Revision',
          'Commit',
          'Model',
          'Image',
          'Deployed',
          'By run',
          session.admin && 'Action',
        ])}
        <tbody>
          ${revisions.map(
            (r) =>
              html`<tr data-revision="${r.number}" ${r.live ? html` class="live"` : html``}>
                <th scope="row">
                  ${r.number}${r.live ? html` <span class="badge s-succeeded">live</span>` : html``}
                </th>
                <td class="mono" title="${r.commit ?? ''}">${shortCommit(r.commit) || '—'}</td>
                <td class="mono">${r.model ? `${r.model.name}@${r.model.version}` : '—'}</td>
                <td class="mono" title="${r.image}">
                  ${r.digest ? shortDigest(r.digest) : r.image}
                </td>
                <td>${ago(r.deployedAt, now)}</td>
                <td>
                  ${r.run ? html`<a class="mono" href="${runUrl(r.run)}">${r.run}</a>` : sameAs(r)}
                </td>
                ${session.admin ? html`<td>${r.live ? html`` : rollback(r.number)}</td>` : html``}
              </tr>`,
          )}
        </tbody>
      </table>`,
  );
}

function section(inner: Html): Html {
  return html`<section aria-labelledby="revisions-h">
    <h2 id="revisions-h">Revisions</h2>
    ${inner}
  </section>`;
}
