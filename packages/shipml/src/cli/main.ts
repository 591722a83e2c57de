#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../core/errors.js';
import { redactorFromEnv } from '../core/redact.js';
import { commandsFor } from './commands.js';
import type { CliContext, CommandRunner } from './context.js';
import { Output } from './output.js';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** stderr is an interactive terminal. */
  tty: boolean;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const redactor = redactorFromEnv(io.env);
  const output = new Output(redactor, { out: io.stdout, err: io.stderr });
  const controller = new AbortController();
  let exit = 0;

  const program = new Command('shipml')
    .description(
      'CI/CD for AI applications: app code + ML model -> one tested, immutable image, rolled out safely',
    )
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'print stack traces of errors')
    // Program options only before the subcommand: `model publish --version 1` is the
    // model's version, not shipml's. Subcommands repeat --debug for convenience.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.line(text.replace(/\n$/, '')),
      writeErr: (text) => output.note(text.replace(/\n$/, '')),
    });

  const run: CommandRunner = async (body, { json, debug }) => {
    const ctx: CliContext = {
      env: io.env,
      cwd: io.cwd,
      output,
      redactor,
      signal: controller.signal,
      tty: io.tty && !io.env.CI,
    };
    try {
      await body(ctx);
    } catch (err) {
      exit = output.error(err, {
        debug: debug || Boolean(program.opts<{ debug?: boolean }>().debug),
        json,
      });
    }
  };

  // Only the modules of the commands argv names are loaded (see commands.ts).
  for (const cmd of await commandsFor(invokedCommands(program, argv), run, packageVersion()))
    program.addCommand(cmd);
  // Commands built on their own do not inherit these: apply them to the whole tree, so every
  // help text and usage error goes through the (redacting) output and none calls exit().
  const configure = (cmd: Command): void => {
    cmd.copyInheritedSettings(program);
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);

  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: leave now
    output.note('cancelling (press Ctrl-C again to quit at once)...');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const unknown = unknownCommand(program, argv);
  if (unknown) {
    output.note(`error: ${unknown.message}`);
    output.note(`(run ${unknown.command} --help for the commands)`);
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    return output.error(err instanceof Error ? err : new ConfigError(String(err)), {
      debug: true,
      json: false,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exit;
}

/**
 * The top-level commands `argv` names, whose modules must load before commander parses: the
 * first word that is not an option (after `help`, the next one too). All of them after a
 * `--`, behind which commander still takes the first word as the command.
 */
export function invokedCommands(program: Command, argv: readonly string[]): Set<string> | 'all' {
  const names = new Set<string>();
  for (const word of commandWords(argv, () => program)) {
    if (word === '--') return 'all';
    names.add(word);
    if (word !== 'help') break;
  }
  return names;
}

/**
 * The first word of `argv` that should name a (sub)command but names none, as a message —
 * checked before commander runs, because `shipml nosuch --help` would otherwise print the
 * top-level help and exit 0, which a script reads as success.
 */
export function unknownCommand(
  program: Command,
  argv: readonly string[],
): { message: string; command: string } | undefined {
  let cmd = program;
  for (const word of commandWords(argv, () => cmd)) {
    if (word === '--') return undefined;
    if (cmd.commands.length === 0) return undefined; // a leaf: the rest are its arguments
    if (cmd === program && word === 'help') return undefined;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) {
      const where = cmd === program ? 'shipml' : `shipml ${cmd.name()}`;
      const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
      return {
        message: `unknown command "${word}" for ${where}: expected one of ${names.join(', ')}`,
        command: where,
      };
    }
    cmd = sub;
  }
  return undefined;
}

/**
 * The words of `argv` that are neither options nor their values, up to and with a `--`; an
 * option's value is known by asking `at()`, the command the words have reached, for it
 * (`-c FILE`: FILE is not a command word).
 */
function* commandWords(argv: readonly string[], at: () => Command): Generator<string> {
  let skipValue = false;
  for (const word of argv) {
    if (word === '--') {
      yield word;
      return;
    }
    if (skipValue) {
      skipValue = false;
      continue;
    }
    if (word.startsWith('-')) {
      const option = at().options.find((o) => o.long === word || o.short === word);
      skipValue = Boolean(option && (option.required || option.optional));
      continue;
    }
    yield word;
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Runs the CLI as the `shipml` process: its argv, its streams, its exit code. The bundled bin
 * (scripts/cli-entry.mjs) calls this; run directly, this module calls it itself.
 */
export async function runCli(): Promise<void> {
  // Node 22.1+ keeps the compiled code of the modules loaded from here on (a command's
  // definition and body) on disk for the next run; Node 20 has no such cache. The bundle's
  // entry turns it on before any of the CLI loads; again here is a no-op then.
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  // The HTTP client's parser is WebAssembly, which V8 recompiles in the background for
  // speed; node waits for that before it exits: ~70 ms added to every command that talks to
  // a registry, for a parser that only ever reads headers. The baseline compiler is enough.
  setFlagsFromString('--liftoff-only');
  // `shipml model list | head -1`: a reader that stops early is not an error of ours.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  const code = await main(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    tty: Boolean(process.stderr.isTTY),
  });
  process.exitCode = code;
}

if (isEntryPoint()) await runCli();
