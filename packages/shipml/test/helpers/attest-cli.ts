import { PassThrough } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { keysCommand } from '../../src/cli/keys.js';
import { sbomCommand } from '../../src/cli/sbom.js';
import { verifyCommand } from '../../src/cli/verify.js';
import type { CliContext, CommandRunner } from '../../src/cli/context.js';
import { Output } from '../../src/cli/output.js';
import { redactorFromEnv } from '../../src/core/redact.js';
import { main } from '../../src/cli/main.js';
import type { CliRun } from './cli.js';

const OURS = new Set(['keys', 'verify', 'sbom']);

/**
 * Runs `shipml keys|verify|sbom ...` in-process. Until cli/main.ts registers these commands
 * (the lead wires them), the commands run under a minimal program with main's runner
 * semantics (redacting output, errors become the exit code); once registered, through main.
 */
export async function runAttestCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const fullEnv = { CI: 'true', ...env };
  const probe = await main([args[0]!, '--help'], {
    env: fullEnv,
    cwd,
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    tty: false,
  });
  if (probe === 0 || !OURS.has(args[0]!)) {
    const code = await main(args, { env: fullEnv, cwd, stdout: out, stderr: err, tty: false });
    return { code, stdout, stderr };
  }
  const redactor = redactorFromEnv(fullEnv);
  const output = new Output(redactor, { out, err });
  let exit = 0;
  const run: CommandRunner = async (body, { json, debug }) => {
    const ctx: CliContext = {
      env: fullEnv,
      cwd,
      output,
      redactor,
      signal: new AbortController().signal,
      tty: false,
    };
    try {
      await body(ctx);
    } catch (e) {
      exit = output.error(e, { debug, json });
    }
  };
  const program = new Command('shipml').exitOverride().configureOutput({
    writeOut: (t) => output.line(t.replace(/\n$/, '')),
    writeErr: (t) => output.note(t.replace(/\n$/, '')),
  });
  for (const cmd of [keysCommand(run), verifyCommand(run), sbomCommand(run)]) {
    cmd.exitOverride();
    program.addCommand(cmd);
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, stdout, stderr };
    throw e;
  }
  return { code: exit, stdout, stderr };
}
