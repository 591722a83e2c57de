import { ShipmlError, asShipmlError, type ExternalServiceError } from '../core/errors.js';
import type { Redactor } from '../core/redact.js';

/**
 * Everything the CLI prints goes through here, and through the redactor: no command
 * writes to stdout or stderr directly, so no secret can slip past.
 */
export class Output {
  constructor(
    private readonly redactor: Redactor,
    private readonly streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = {
      out: process.stdout,
      err: process.stderr,
    },
  ) {}

  /** A line of human output (stdout). */
  line(text = ''): void {
    this.streams.out.write(this.redactor.redact(text) + '\n');
  }

  /** A line of diagnostics or progress (stderr), so stdout stays parseable. */
  note(text: string): void {
    this.streams.err.write(this.redactor.redact(text) + '\n');
  }

  /** Raw write to stderr (progress bars), redacted. */
  stderrWrite(text: string): void {
    this.streams.err.write(this.redactor.redact(text));
  }

  json(value: unknown): void {
    this.streams.out.write(this.redactor.redact(JSON.stringify(value, null, 2)) + '\n');
  }

  /** Prints an error as one line plus a hint (and the stack with --debug); returns the exit code. */
  error(thrown: unknown, options: { debug: boolean; json: boolean }): number {
    const err = asShipmlError(thrown);
    if (options.json) {
      this.json({
        error: {
          code: err.code,
          message: err.message,
          ...(err.hint ? { hint: err.hint } : {}),
          ...serviceFields(err),
        },
        // A failed pipeline run carries its report: machines get it with the error.
        ...('report' in err ? { report: (err as { report: unknown }).report } : {}),
      });
    }
    this.note(`error: ${firstLine(err.message)}`);
    if (err.hint) this.note(`hint: ${err.hint}`);
    if (options.debug) {
      let current: unknown = thrown;
      while (current instanceof Error) {
        this.note(current.stack ?? String(current));
        current = current.cause;
        if (current instanceof Error) this.note('caused by:');
      }
    } else if (!(thrown instanceof ShipmlError)) {
      this.note('hint: this looks like a bug in shipml; run again with --debug for the stack');
    }
    return exitCode(err);
  }
}

function serviceFields(err: ShipmlError): Record<string, unknown> {
  const e = err as Partial<ExternalServiceError>;
  return {
    ...(e.retryable !== undefined ? { retryable: e.retryable } : {}),
    ...(e.serviceCode ? { serviceCode: e.serviceCode } : {}),
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/**
 * Exit codes: 2 = the user's input is wrong or a confirmation is missing (nothing was done),
 * 130 = cancelled, 1 = anything else.
 */
export function exitCode(err: ShipmlError): number {
  if (err.code === 'CONFIG' || err.code === 'CONFIRMATION_REQUIRED') return 2;
  if (err.code === 'CANCELLED') return 130;
  return 1;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Left-aligned columns, two spaces apart. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}

/** `sha256:0123456789ab` — enough of a digest to recognise it. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
