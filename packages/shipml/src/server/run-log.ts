/**
 * A run's log on its way to the store: pipeline events become lines (stage starts and ends,
 * every line a command printed), redacted, batched (one insert per batch, not per line) and
 * appended in order. `close` flushes what is left.
 */
import type { RunEvent } from '../pipeline/types.js';
import type { ServiceStore } from './store/types.js';

const FLUSH_MS = 200;
const MAX_BATCH = 500;
/** A line longer than this is cut (a minified bundle printed by a test runner). */
const MAX_LINE = 8192;

export class RunLog {
  private pending: Array<{ at: string; stage: string; line: string }> = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ServiceStore,
    private readonly runId: string,
    private readonly redact: (text: string) => string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A line from the service itself about the run (claims, retries, reconciliation). */
  service(line: string): void {
    this.add('service', line);
  }

  event(e: RunEvent): void {
    if (e.type === 'stage-log') this.add(e.stage, e.line);
    else if (e.type === 'stage-start') this.add(e.stage, `▶ ${e.stage}`);
    else {
      const r = e.report;
      const mark = r.status === 'succeeded' ? '✓' : r.status === 'failed' ? '✗' : '−';
      this.add(e.stage, `${mark} ${e.stage} ${r.status} in ${r.seconds} s: ${r.detail}`);
    }
  }

  private add(stage: string, line: string): void {
    const text = this.redact(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)} …` : line);
    this.pending.push({ at: this.now().toISOString(), stage, line: text });
    if (this.pending.length >= MAX_BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    // Appends are chained so the store numbers lines in the order they were printed.
    this.writing = this.writing.then(() =>
      this.store.appendLog(this.runId, batch).then(
        () => undefined,
        () => undefined,
      ),
    );
  }

  async close(): Promise<void> {
    this.flush();
    await this.writing;
  }
}
