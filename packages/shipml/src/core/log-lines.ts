/**
 * The one line of a log that most likely says what went wrong, for one-line error messages:
 * a failed test run, a failed `docker build`, a replica that exited.
 */

/** Words that mark a line as the one to quote (test runners, BuildKit, runtimes, loggers). */
const TELLTALE = /error|fatal|exception|panic|traceback|fail|assert|✗|×/i;

/**
 * The last line that reads like an error (else the last line) of a log, given whole or as
 * lines; blank lines never count. A JSON log record (pino, bunyan, structlog) is made
 * readable: its message and its error's message.
 */
export function telltaleLine(log: string | readonly string[]): string | undefined {
  const lines = (typeof log === 'string' ? log.split('\n') : log)
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines.findLast((l) => TELLTALE.test(l)) ?? lines.at(-1);
  if (!line?.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as {
      msg?: unknown;
      message?: unknown;
      err?: { message?: unknown };
      error?: { message?: unknown } | string;
    };
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const message = text(record.msg) ?? text(record.message);
    const error =
      text(record.err?.message) ??
      (typeof record.error === 'string' ? record.error : text(record.error?.message));
    return [message, error].filter(Boolean).join(': ') || line;
  } catch {
    return line;
  }
}
