/**
 * Server-side HTML without a framework: a tagged template that escapes every interpolated
 * value unless it is already `Html` (so a run's log line or a commit message can never become
 * markup), and the small formatting helpers every page shares.
 */

/** Markup that is already safe: the result of `html\`\`` or `raw()`. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Value = Html | string | number | boolean | undefined | null | readonly Value[];

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<p>${text}</p>\`` escapes `text`; arrays are joined; undefined/false render nothing. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup (built by this module's callers from escaped parts). */
export function raw(text: string): Html {
  return new Html(text);
}

/** JSON inside `<script type="application/json">`: `<` escaped so no `</script>` can close it. */
export function jsonScript(id: string, value: unknown): Html {
  const text = JSON.stringify(value).replace(/</g, '\\u003c');
  return raw(`<script type="application/json" id="${escapeHtml(id)}">${text}</script>`);
}

/** `sha256:abcdef…` → `abcdef123456` (12 hex), for tables; the full value goes in a title. */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return '';
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

export function shortCommit(commit: string | undefined): string {
  return commit ? commit.slice(0, 10) : '';
}

/** Seconds as `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 10 min`. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${+seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Seconds between two ISO times (to `now` when `to` is absent). */
export function between(from: string | undefined, to: string | undefined, now: Date): number {
  if (!from) return NaN;
  return ((to ? Date.parse(to) : now.getTime()) - Date.parse(from)) / 1000;
}

/** `<time>` with the exact UTC time as its datetime and title, "3 min ago" as its text. */
export function ago(iso: string | undefined, now: Date): Html {
  if (!iso) return html``;
  const s = Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
  const text =
    s < 60
      ? `${Math.round(s)} s ago`
      : s < 3600
        ? `${Math.round(s / 60)} min ago`
        : s < 86_400
          ? `${Math.round(s / 3600)} h ago`
          : `${Math.round(s / 86_400)} d ago`;
  return html`<time datetime="${iso}" title="${iso}">${text}</time>`;
}

/** A run or stage outcome as a badge: the word is always there (colour is never the only cue). */
export function badge(status: string | undefined): Html {
  if (!status) return html``;
  return html`<span class="badge s-${status}">${status}</span>`;
}

/** Human size: 1.2 MB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A column heading: its text, or its text and a class (`num` aligns right); false: no column. */
export type Column = string | Html | readonly [label: string | Html, cls: string] | false;

/** `<thead>` with one `<th scope="col">` per column; columns that are false are left out. */
export function thead(columns: readonly Column[]): Html {
  const heading = (c: Exclude<Column, false>) =>
    typeof c === 'string' || c instanceof Html
      ? html`<th scope="col">${c}</th>`
      : html`<th scope="col" class="${c[1]}">${c[0]}</th>`;
  return html`<thead>
    <tr>
      ${columns.map((c) => (c === false ? html`` : heading(c)))}
    </tr>
  </thead>`;
}

/** A table of `rows` under their column headings, or `empty` (a muted line) when there are none. */
export function tableOf(columns: readonly Column[], rows: readonly Html[], empty: string): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table>
    ${thead(columns)}
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
