import { Presets, SingleBar } from 'cli-progress';
import type { ProgressReporter, TransferProgress } from '../core/progress.js';
import { formatBytes, type Output } from './output.js';

/** Transfers smaller than this finish too fast for progress to be worth showing. */
const MIN_BYTES = 4 * 1024 * 1024;

/**
 * Progress for the terminal: a bar per transfer when stderr is a TTY, else (CI, pipes)
 * plain lines at every quarter, so logs stay readable.
 */
export function cliProgress(output: Output, options: { tty: boolean }): ProgressReporter {
  return {
    begin(label: string, total: number): TransferProgress {
      if (total < MIN_BYTES) return { update: () => undefined, end: () => undefined };
      return options.tty ? barProgress(label, total) : lineProgress(output, label, total);
    },
  };
}

function barProgress(label: string, total: number): TransferProgress {
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done} of {size} | {speed}`,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  const fields = (done: number) => ({
    done: formatBytes(done),
    size: formatBytes(total),
    speed: `${formatBytes(done / Math.max(0.001, (Date.now() - started) / 1000))}/s`,
  });
  bar.start(total, 0, fields(0));
  return {
    update: (done) => bar.update(done, fields(done)),
    end: () => bar.stop(),
  };
}

function lineProgress(output: Output, label: string, total: number): TransferProgress {
  const started = Date.now();
  let nextQuarter = 1;
  let last = 0;
  const stamp = (): string => new Date().toISOString();
  output.note(`${stamp()} ${label}: started (${formatBytes(total)})`);
  return {
    update(done) {
      last = done;
      while (nextQuarter < 4 && done >= (total * nextQuarter) / 4) {
        output.note(
          `${stamp()} ${label}: ${nextQuarter * 25}% (${formatBytes(done)} of ${formatBytes(total)})`,
        );
        nextQuarter++;
      }
    },
    end() {
      const seconds = (Date.now() - started) / 1000;
      output.note(
        `${stamp()} ${label}: ${last >= total ? 'done' : 'stopped'} (${formatBytes(last)} in ${seconds.toFixed(1)} s, ${formatBytes(last / Math.max(seconds, 0.001))}/s)`,
      );
    },
  };
}
