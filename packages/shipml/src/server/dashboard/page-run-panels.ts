/**
 * Two cards of the Run page: the gate's checks (from `report.gate`, each value drawn against
 * its bound; the gate stage's log lines only for reports written before the gate was data)
 * and the image's layers with what changed since the previous build (the API's /changes).
 */
import type { ApiRun, ApiRunChanges } from './api.js';
import { badge, bytes, html, shortDigest, thead, type Column, type Html } from './html.js';
import { runLink } from './views.js';

type Line = { seq: number; at: string; stage: string; line: string };
type Check = NonNullable<NonNullable<ApiRun['report']>['gate']>['checks'][number];

const GATE_LINE = /^(\S+) (-?[\d.e+-]+) (>=|<=) (.+): (ok|FAILED)$/;
const fmt = (n: number) => String(+n.toPrecision(6));

/** A check's outcome as a word: passed, failed, skipped. */
const outcome = (ok: boolean | null) => (ok === null ? 'skipped' : ok ? 'passed' : 'failed');

/** One SVG rectangle in the marker's 100 × 12 box (positions to 2 decimals). */
function rect(cls: string, x: number, y: number, width: number, height: number, rx?: number): Html {
  return html`<rect
    class="${cls}"
    x="${+x.toFixed(2)}"
    y="${y}"
    width="${+width.toFixed(2)}"
    height="${height}"
    ${rx === undefined ? html`` : html`rx="${rx}"`}
  ></rect>`;
}

/**
 * The value against its bound on a small scale: the passing side shaded, the bound a tick,
 * the value a dot. The scale spans both numbers with room either side (a metric near its
 * bound is the case worth seeing, so the scale zooms to them rather than starting at 0).
 */
export function gateMarker(c: Check): Html {
  if (c.value === undefined || c.bound === undefined) return html``;
  const lo0 = Math.min(c.value, c.bound);
  const hi0 = Math.max(c.value, c.bound);
  const pad = (hi0 - lo0) * 0.6 || Math.abs(hi0) * 0.05 || 1;
  const lo = lo0 - pad;
  const span = hi0 + pad - lo;
  const x = (n: number) => ((n - lo) / span) * 100;
  const b = x(c.bound);
  const v = x(c.value);
  const pass = c.op === '>=' ? { from: b, to: 100 } : { from: 0, to: b };
  const result = outcome(c.ok);
  return html`<svg
    class="gate-bar"
    role="img"
    aria-label="${c.metric} ${fmt(c.value)}, bound ${c.op} ${fmt(c.bound)}: ${result}"
    viewBox="0 0 100 12"
    preserveAspectRatio="none"
  >
    ${[
      rect('gate-track', 0, 5, 100, 2),
      rect('gate-pass', pass.from, 2, pass.to - pass.from, 8),
      rect('gate-bound', b - 0.4, 0, 0.8, 12),
      rect(`gate-value gate-${result}`, v - 1.5, 2, 3, 8, 1),
    ]}
  </svg>`;
}

/** The gate table's columns; a gate logged before `report.gate` has no bar to draw. */
const CHECK_COLUMNS: readonly Column[] = ['Check', ['Value', 'num'], 'Bound', 'Result'];

function checksTable(checks: readonly Check[]): Html {
  return html`<table class="gate">
    ${thead([...CHECK_COLUMNS, ['Value against bound', 'gate-col']])}
    <tbody>
      ${checks.map(
        (c) =>
          html`<tr title="${c.text}">
            <th scope="row">${c.metric}</th>
            <td class="num">${c.value === undefined ? '—' : fmt(c.value)}</td>
            <td class="nowrap">
              ${c.bound === undefined ? c.op : `${c.op} ${fmt(c.bound)}`}${c.champion ? html`<br /><span class="muted">champion ${c.champion}</span>` : html``}
            </td>
            <td>${badge(outcome(c.ok))}</td>
            <td>
              ${gateMarker(c)}${c.ok === null || c.value === undefined ? html`<span class="muted">${c.text}</span>` : html``}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Reports from before `report.gate`: the checks as the gate stage logged them. */
function fromLog(lines: readonly Line[]): Html {
  const gate = lines.filter(
    (l) => l.stage === 'gate' && !/^[\u25b6\u2713\u2717\u2212] /.test(l.line),
  );
  if (!gate.length) return html``;
  return html`<table class="gate">
    ${thead(CHECK_COLUMNS)}
    <tbody>
      ${gate.map((l) => {
        const m = GATE_LINE.exec(l.line);
        return m
          ? html`<tr>
              <td>${m[1]}</td>
              <td class="num">${m[2]}</td>
              <td class="nowrap">${m[3]} ${m[4]}</td>
              <td>${badge(m[5] === 'ok' ? 'passed' : 'failed')}</td>
            </tr>`
          : html`<tr>
              <td colspan="4">${l.line}</td>
            </tr>`;
      })}
    </tbody>
  </table>`;
}

export function gatePanel(run: ApiRun, lines: readonly Line[], final: boolean): Html {
  const gate = run.report?.gate;
  const metrics = run.report?.metrics ? Object.entries(run.report.metrics) : [];
  const table = gate ? checksTable(gate.checks) : fromLog(lines);
  return html`<section class="card wide" aria-labelledby="gate-h">
    <h2 id="gate-h">Gate${gate ? html` ${badge(gate.passed ? 'passed' : 'failed')}` : html``}</h2>
    ${table.text ? table : html`<p class="muted">no gate checks${final ? '' : ' yet'}</p>`}
    ${
      metrics.length
        ? html`<dl class="kv">
            ${metrics.map(
              ([k, v]) =>
                html`<dt>${k}</dt>
                  <dd class="mono">${String(v)}</dd>`,
            )}
          </dl>`
        : html``
    }
  </section>`;
}

const modelText = (m: { name: string; version: string } | undefined) =>
  m ? `${m.name}@${m.version}` : 'none';

/** The layers with what changed since the previous build of the app's branch. */
export function layersTable(run: ApiRun, changes: ApiRunChanges | undefined): Html {
  const layers = run.report?.layers ?? [];
  if (!layers.length) return html``;
  const rows = changes?.layers ?? layers.map((l) => ({ kind: l.kind, change: undefined, now: l }));
  const prev = changes?.previous;
  const m = changes?.model;
  return html`<p>
      ${prev ? html`Since the previous build ${runLink({ ...run, id: prev.id })}${m?.changed ? html`: model <span class="mono">${modelText(m.before)} → ${modelText(m.now)}</span>` : html`, same model`}` : changes ? html`<span class="muted">First build of this branch: nothing to compare with.</span>` : html``}
    </p>
    <table class="layers">
      ${thead(['Layer', 'Since last build', 'Digest', ['Size', 'num'], ['Before', 'num'], 'Push'])}
      <tbody>
        ${rows.map((l) => {
          const before = 'before' in l ? l.before : undefined;
          return html`<tr>
            <th scope="row">${l.kind}</th>
            <td>${l.change ? badge(l.change) : html``}</td>
            <td class="mono" title="${l.now?.digest ?? before?.digest ?? ''}">
              ${shortDigest(l.now?.digest ?? before?.digest)}${l.change === 'changed' && before ? html`<br /><span class="muted" title="${before.digest}">was ${shortDigest(before.digest)}</span>` : html``}
            </td>
            <td class="num nowrap">${l.now ? bytes(l.now.size) : '—'}</td>
            <td class="num nowrap">${before ? bytes(before.size) : '—'}</td>
            <td>${l.now?.status ?? ''}</td>
          </tr>`;
        })}
      </tbody>
    </table>`;
}
