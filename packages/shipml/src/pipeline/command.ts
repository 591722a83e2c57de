/**
 * Runs a project's own command (tests, evaluation) the way CI would: `sh -c` in the app
 * directory, through the core process runner (its own process group, so a timeout or Ctrl-C
 * ends it and everything it started; output line by line), every line also written to a log
 * file for the report. Output arrives as plain text: test runners colour their output when
 * CI is set (picocolors does), and those codes would land raw in logs, reports, error
 * messages and piped output. ShipML's own terminal display keeps its colours.
 */
import { createWriteStream } from 'node:fs';
import { runProcess, type ProcessResult } from '../core/process.js';

export type CommandResult = ProcessResult;

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

/** Stdout kept for the caller (the evaluation prints its metrics there). */
const KEEP_BYTES = 1024 * 1024;

export async function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const log = options.logFile ? createWriteStream(options.logFile) : undefined;
  try {
    return await runProcess('sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      timeoutMs: options.timeoutSeconds * 1000,
      signal: options.signal,
      keepStdoutBytes: KEEP_BYTES,
      plainText: true,
      onLine: (line) => {
        log?.write((options.redact ? options.redact(line) : line) + '\n');
        options.onLine?.(line);
      },
    });
  } finally {
    await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  }
}
