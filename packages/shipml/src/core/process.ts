/**
 * The one way ShipML runs another program (the app's tests, `docker build`): in its own
 * process group, so a timeout or a cancel ends it and everything it started (a test runner's
 * workers, BuildKit's session), not just the direct child; output split into whole lines
 * (a line split across two writes comes out once, whole), passed on as it comes, and its
 * last lines kept for the error message.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { stripAnsi } from './ansi.js';

export interface ProcessOptions {
  cwd?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Ends the process tree after this long; undefined: no limit. */
  timeoutMs?: number | undefined;
  /** Ends the process tree when aborted. */
  signal?: AbortSignal | undefined;
  /** Every line of stdout and stderr (without its newline), as it comes. */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  /** Lines kept in `tail` (stdout and stderr interleaved as they came); default 20. */
  tailLines?: number | undefined;
  /** Bytes of stdout kept in `stdout` (the last ones); default 0. */
  keepStdoutBytes?: number | undefined;
  /** Between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number | undefined;
  /**
   * Remove terminal escape sequences (colours, cursor moves) from every line and from
   * `stdout`: for output that is logged, stored or piped, where they would show as raw codes.
   */
  plainText?: boolean | undefined;
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last `keepStdoutBytes` of stdout. */
  stdout: string;
  /** The last lines of stdout and stderr. */
  tail: string[];
  timedOut: boolean;
  cancelled: boolean;
}

/** A line longer than this is passed on in pieces, so one endless line cannot fill memory. */
const MAX_LINE_CHARS = 64 * 1024;

/**
 * Runs `command` with `args` (no shell) until it and its output end. Rejects only when it
 * cannot start (ENOENT for a missing program, with the spawn error as is); a non-zero exit,
 * a timeout or a cancel are in the result.
 */
export async function runProcess(
  command: string,
  args: readonly string[],
  options: ProcessOptions,
): Promise<ProcessResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: we end the whole tree, not just the child
  });
  const tail: string[] = [];
  const tailLines = options.tailLines ?? 20;
  const keepBytes = options.keepStdoutBytes ?? 0;
  let stdout = '';
  const plain = options.plainText ? stripAnsi : (line: string) => line;
  const take = (stream: 'stdout' | 'stderr') => (raw: string) => {
    const line = plain(raw);
    tail.push(line);
    if (tail.length > tailLines) tail.shift();
    options.onLine?.(line, stream);
  };
  const outLines = lineSplitter(take('stdout'));
  const errLines = lineSplitter(take('stderr'));
  const outText = new StringDecoder('utf8');
  child.stdout.on('data', (chunk: Buffer) => {
    if (keepBytes > 0) {
      stdout += outText.write(chunk);
      if (stdout.length > keepBytes) stdout = stdout.slice(-keepBytes);
    }
    outLines.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => errLines.push(chunk));

  let timedOut = false;
  let cancelled = false;
  const killTree = () => {
    signalGroup(child.pid, 'SIGTERM');
    setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 5000).unref();
  };
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          killTree();
        }, options.timeoutMs)
      : undefined;
  const onAbort = () => {
    cancelled = true;
    killTree();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.on('error', reject);
        child.on('close', (c, s) => resolve([c, s]));
      },
    );
    outLines.end();
    errLines.end();
    if (keepBytes > 0) stdout = plain(stdout + outText.end()).slice(-keepBytes);
    return { code, signal, stdout, tail, timedOut, cancelled };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Splits a byte stream into lines for `take`: a line cut across two chunks (or a UTF-8
 * character cut across two chunks) comes out once, whole; `end` passes on a last line
 * without a newline. A trailing `\r` (CRLF output) is dropped.
 */
export function lineSplitter(take: (line: string) => void): {
  push(chunk: Buffer | string): void;
  end(): void;
} {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const emit = (line: string) => take(line.endsWith('\r') ? line.slice(0, -1) : line);
  return {
    push(chunk) {
      const lines = (rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(emit);
      while (rest.length > MAX_LINE_CHARS) {
        emit(rest.slice(0, MAX_LINE_CHARS));
        rest = rest.slice(MAX_LINE_CHARS);
      }
    },
    end() {
      rest += decoder.end();
      if (rest) emit(rest);
      rest = '';
    },
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
