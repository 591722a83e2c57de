/**
 * Runs a project's own command (prepare, tests, evaluation) the way CI would: `sh -c` in the
 * app directory, through the run's command runner (runners/: a host process group or an
 * isolated container; a timeout or a cancel ends everything it started; output line by
 * line), every line also written to a log file for the report. Output arrives as plain
 * text: test runners colour their output when CI is set (picocolors does), and those codes
 * would land raw in logs, reports, error messages and piped output.
 */
import { createWriteStream } from 'node:fs';
import type { CommandOutcome, CommandRunner } from '../runners/types.js';

export type CommandResult = CommandOutcome;

export interface CommandOptions {
  cwd: string;
  /** The command's own variables (its env: in shipml.yaml, CI). */
  env: Record<string, string>;
  /** The verified model: MODEL_PATH. */
  modelDir?: string | undefined;
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

export async function runCommand(
  runner: CommandRunner,
  command: string,
  options: CommandOptions,
): Promise<CommandResult> {
  const log = options.logFile ? createWriteStream(options.logFile) : undefined;
  try {
    return await runner.run({
      command,
      appDir: options.cwd,
      env: options.env,
      modelDir: options.modelDir,
      timeoutSeconds: options.timeoutSeconds,
      signal: options.signal,
      keepStdoutBytes: KEEP_BYTES,
      onLine: (line) => {
        log?.write((options.redact ? options.redact(line) : line) + '\n');
        options.onLine?.(line);
      },
    });
  } finally {
    await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  }
}
