/**
 * The options and action plumbing commands share. Light on purpose: a command's definition
 * imports this and commander only, so `shipml build --help` loads neither the registries nor
 * what the command does (each command's body is imported when it runs).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext, CommandRunner } from './context.js';

/** Flags every command has. */
export interface CommonFlags {
  json?: boolean;
  debug?: boolean;
}

/** Flags of commands that talk to registries (which all have the common ones too). */
export interface RegistryFlags extends CommonFlags {
  registryCa?: string;
  insecure?: boolean;
}

/** `-c, --config FILE`, the same on every command that reads shipml.yaml. */
export const CONFIG_OPTION = [
  '-c, --config <file>',
  'shipml.yaml to use (default: nearest in this or a parent directory)',
] as const;

/** --json and --debug. */
export function commonOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--debug', 'print stack traces of errors');
}

/** --registry-ca and --insecure. */
export function registryOptions(cmd: Command): Command {
  return cmd
    .option('--registry-ca <file>', 'PEM CA certificate of a registry with a private certificate')
    .option('--insecure', 'allow plain HTTP to a registry that is not on loopback');
}

/** What commands that talk to registries end with: --registry-ca, --insecure, --json, --debug. */
export function registryCommandOptions(cmd: Command): Command {
  return commonOptions(registryOptions(cmd));
}

/** A command about one image in a registry: `<image>`, the registry flags, --json and --debug. */
export function registryImageCommand(name: string): Command {
  return registryCommandOptions(new Command(name)).argument(
    '<image>',
    'registry reference (tag or digest)',
  );
}

/** What a command does: the shared context, the command's options, then its arguments. */
export type CommandBody<F extends CommonFlags> = (
  ctx: CliContext,
  flags: F,
  ...args: string[]
) => Promise<void>;

/**
 * The commander action that runs `body` through `run`, with the command's own --json and
 * --debug. Commander calls actions with (...arguments, options, command).
 */
export function action<F extends CommonFlags>(
  run: CommandRunner,
  body: CommandBody<F>,
): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const flags = (args.at(-1) as Command).opts<F>();
    const positional = args.slice(0, -2) as string[];
    await run((ctx) => body(ctx, flags, ...positional), {
      json: Boolean(flags.json),
      debug: Boolean(flags.debug),
    });
  };
}

/**
 * {@link action} with the body in a module imported only when the command runs; a failure to
 * load it is reported like any other error of the command.
 */
export function lazyAction<F extends CommonFlags>(
  run: CommandRunner,
  load: () => Promise<CommandBody<F>>,
): (...args: unknown[]) => Promise<void> {
  return action<F>(run, async (ctx, flags, ...args) => (await load())(ctx, flags, ...args));
}

/** Commander argument parser for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Commander parser for options that take a positive integer. */
export function positiveInteger(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${what} must be a positive integer, got "${value}"`);
    return n;
  };
}
