/**
 * Runs a project's own command (tests, evaluation) the way CI would: `sh -c` in the app
 * directory, its own process group so a timeout or Ctrl-C ends it and everything it started,
 * output streamed line by line and kept (bounded) for the report.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Stdout, up to the last 1 MiB. */
  stdout: string;
  /** The last lines of stdout + stderr, for the failure message. */
  tail: string[];
  timedOut: boolean;
  cancelled: boolean;
}

export interface CommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutSeconds: number;
  signal?: AbortSignal | undefined;
  /** Every output line, as it comes. */
  onLine?: ((line: string) => void) | undefined;
  /** Full output goes here too, line by line. */
  logFile?: string | undefined;
  /** Applied to every line written to the log file (secrets masked). */
  redact?: ((line: string) => string) | undefined;
}

const KEEP_BYTES = 1024 * 1024;

export async function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const child = spawn('sh', ['-c', command], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: we end the whole tree, not just sh
  });
  const log = options.logFile ? createWriteStream(options.logFile) : undefined;
  let stdout = '';
  const tail: string[] = [];
  const take = (line: string) => {
    log?.write((options.redact ? options.redact(line) : line) + '\n');
    tail.push(line);
    if (tail.length > 20) tail.shift();
    options.onLine?.(line);
  };
  /** Splits a stream into lines; `end` takes a last line without a newline. */
  const lineSplitter = () => {
    let rest = '';
    return {
      push(chunk: Buffer) {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        lines.forEach(take);
      },
      end() {
        if (rest) take(rest);
        rest = '';
      },
    };
  };
  const outLines = lineSplitter();
  const errLines = lineSplitter();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (stdout.length > KEEP_BYTES) stdout = stdout.slice(-KEEP_BYTES);
    outLines.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errLines.push(chunk);
  });

  let timedOut = false;
  let cancelled = false;
  const killTree = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, options.timeoutSeconds * 1000);
  const onAbort = () => {
    cancelled = true;
    killTree();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    },
  );
  clearTimeout(timer);
  outLines.end();
  errLines.end();
  options.signal?.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  return { code, signal, stdout, tail, timedOut, cancelled };
}
