/**
 * A run's stage timeline: when each stage started, how long it took, how it ended. Starts
 * come from the log's stage markers (`▶ build`, `✓ build succeeded in 1.2 s: …`, written by
 * run-log.ts with their times), so a running run has bars too; a finished run's report fills
 * in stages the log did not mark (skipped ones) at their place in the sequence.
 */
import type { ApiRun } from './api.js';
import { badge, duration, html, thead, type Html } from './html.js';

export interface Bar {
  name: string;
  /** ms since the epoch. */
  start: number;
  end: number | undefined;
  status: string;
  detail: string;
}

const END = /^([\u2713\u2717\u2212]) (\S+) (succeeded|failed|skipped) in ([\d.]+) s: (.*)$/;

export function stageBars(
  run: ApiRun,
  lines: ReadonlyArray<{ at: string; stage: string; line: string }>,
): Bar[] {
  const bars = new Map<string, Bar>();
  for (const l of lines) {
    if (l.line === `\u25b6 ${l.stage}`) {
      bars.set(l.stage, {
        name: l.stage,
        start: Date.parse(l.at),
        end: undefined,
        status: 'running',
        detail: '',
      });
      continue;
    }
    const m = END.exec(l.line);
    if (!m || m[2] !== l.stage) continue;
    const end = Date.parse(l.at);
    const seconds = Number(m[4]);
    const bar = bars.get(l.stage) ?? {
      name: l.stage,
      start: end - seconds * 1000,
      end,
      status: m[3]!,
      detail: m[5]!,
    };
    bars.set(l.stage, { ...bar, end, status: m[3]!, detail: m[5]! });
  }
  // Stages the report has but the log did not mark: placed after the previous stage.
  const stages = run.report?.stages ?? [];
  let cursor = run.startedAt ? Date.parse(run.startedAt) : Date.parse(run.queuedAt);
  const ordered: Bar[] = [];
  for (const s of stages) {
    const known = bars.get(s.name);
    const bar: Bar = known
      ? { ...known, status: s.status, detail: s.detail || known.detail }
      : {
          name: s.name,
          start: cursor,
          end: cursor + s.seconds * 1000,
          status: s.status,
          detail: s.detail,
        };
    bars.delete(s.name);
    ordered.push(bar);
    cursor = bar.end ?? cursor;
  }
  // A cancelled or interrupted run leaves a stage that started and never ended.
  const final = run.status !== 'running' && run.status !== 'queued';
  for (const b of bars.values())
    ordered.push(final && b.end === undefined ? { ...b, status: run.status } : b);
  return ordered.sort((a, b) => a.start - b.start);
}

/** The bars as a table (name, outcome, start offset, length) with an SVG bar per row. */
export function timeline(bars: readonly Bar[], now: Date): Html {
  if (bars.length === 0) return html`<p class="muted">No stage has started yet.</p>`;
  const t0 = Math.min(...bars.map((b) => b.start));
  const t1 = Math.max(...bars.map((b) => b.end ?? now.getTime()), t0 + 1);
  const span = t1 - t0;
  return html`<table class="timeline">
    <caption class="muted">
      Stages, ${duration(span / 1000)} in all
    </caption>
    ${thead(['Stage', 'Outcome', ['Start', 'num'], ['Length', 'num'], ['Timeline', 'tl']])}
    <tbody>
      ${bars.map((b) => {
        const end = b.end ?? now.getTime();
        const x = ((b.start - t0) / span) * 100;
        const w = Math.max(((end - b.start) / span) * 100, 0.6);
        const cls =
          b.status === 'succeeded' ||
          b.status === 'failed' ||
          b.status === 'skipped' ||
          b.status === 'running'
            ? b.status
            : 'skipped';
        return html`<tr title="${b.detail}">
          <th scope="row">${b.name}</th>
          <td>${badge(b.status)}</td>
          <td class="num">+${duration((b.start - t0) / 1000)}</td>
          <td class="num">${duration((end - b.start) / 1000)}</td>
          <td>
            <svg
              role="img"
              aria-label="${b.name}: ${b.status}, ${duration((end - b.start) / 1000)}"
              viewBox="0 0 100 10"
              preserveAspectRatio="none"
            >
              <rect
                class="bar-${cls}"
                x="${x.toFixed(2)}"
                y="1"
                width="${Math.min(w, 100 - x).toFixed(2)}"
                height="8"
                rx="1"
              ></rect>
            </svg>
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}
