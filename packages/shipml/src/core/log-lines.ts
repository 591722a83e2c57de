/**
 * The lines of a log worth quoting in one-line error messages: the one that most likely says
 * what went wrong (a failed test run, a failed `docker build`, a replica that exited), or the
 * last few (a replica that runs but never becomes ready, where no line reads like an error).
 */
import { stripAnsi } from './ansi.js';

/** Words that mark a line as the one to quote (test runners, BuildKit, runtimes, loggers). */
const TELLTALE = /error|fatal|exception|panic|traceback|fail|assert|✗|×/i;

function nonBlank(log: string | readonly string[]): string[] {
  return (typeof log === 'string' ? log.split('\n') : log)
    .map((l) => stripAnsi(l).trim())
    .filter(Boolean);
}

/**
 * The last line that reads like an error (else the last line) of a log, given whole or as
 * lines; blank lines never count. A JSON log record (pino, bunyan, structlog) is made
 * readable: its message and its error's message.
 */
export function telltaleLine(log: string | readonly string[]): string | undefined {
  const lines = nonBlank(log);
  const line = lines.findLast((l) => TELLTALE.test(l)) ?? lines.at(-1);
  return line === undefined ? undefined : readableLine(line);
}

/** The last `count` non-blank lines of a log, oldest first, each made readable (readableLine). */
export function lastLines(log: string | readonly string[], count: number): string[] {
  return count > 0 ? nonBlank(log).slice(-count).map(readableLine) : [];
}

/** Fields of a JSON log record every line has (pino, bunyan): never worth quoting. */
const ROUTINE = new Set(['level', 'time', 'timestamp', 'ts', 'pid', 'hostname', 'v']);
/** At most this many of a record's other plain fields are shown, as key=value. */
const FIELDS = 4;

/**
 * One log line for a person, colour codes dropped: a JSON log record becomes its message and
 * its error's message ("start-up failed: MODEL_PATH /x does not exist"), then its other plain
 * fields ("listening; loading model url=http://127.0.0.1:8080"); any other line is returned
 * as it is.
 */
export function readableLine(line: string): string {
  const plain = stripAnsi(line).trim();
  if (!plain.startsWith('{')) return plain;
  try {
    const record = JSON.parse(plain) as Record<string, unknown> & {
      err?: { message?: unknown };
      error?: { message?: unknown } | string;
    };
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const message = text(record.msg) ?? text(record.message);
    const error =
      text(record.err?.message) ??
      (typeof record.error === 'string' ? record.error : text(record.error?.message));
    const head = [message, error].filter(Boolean).join(': ');
    if (!head) return plain;
    const fields = Object.entries(record)
      .filter(
        ([k, v]) =>
          !ROUTINE.has(k) &&
          !['msg', 'message', 'err', 'error'].includes(k) &&
          ['string', 'number', 'boolean'].includes(typeof v),
      )
      .slice(0, FIELDS)
      .map(([k, v]) => `${k}=${String(v)}`);
    return [head, ...fields].join(' ');
  } catch {
    return plain;
  }
}
