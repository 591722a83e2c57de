import { InvalidArgumentError, Option, type Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { deployTargets } from '../deploy/registry.js';
import type { TargetDescriptor } from '../deploy/types.js';

/** Flags every command has. */
export interface CommonFlags {
  json?: boolean;
  debug?: boolean;
}

/** Flags of commands that talk to registries. */
export interface RegistryFlags {
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

/** Commander argument parser for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--target` with the registry's ids as choices (an unknown id is a usage error, exit 2). */
export function targetOption(cmd: Command, description: string): Command {
  return cmd.addOption(
    new Option('--target <kind>', `${deployTargets.choices} (${description})`).choices(
      deployTargets.ids,
    ),
  );
}

/** Every target's own flags (`--port`, `--kubeconfig`, ...), from the registry, each saying whose it is. */
export function targetOverrideOptions(cmd: Command): Command {
  const targets: readonly TargetDescriptor[] = deployTargets.all;
  for (const target of targets)
    for (const flag of target.flags) {
      const option = new Option(flag.flags, `${target.id}: ${flag.description}`);
      if (flag.integer) option.argParser(positiveInteger(option.long ?? flag.flags));
      cmd.addOption(option);
    }
  return cmd;
}

/**
 * The chosen target's flag values by option name. A flag of another target is refused
 * rather than silently ignored (`--port` means nothing to Kubernetes).
 */
export function targetOverrides(
  kind: string,
  flags: Record<string, unknown>,
): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  const targets: readonly TargetDescriptor[] = deployTargets.all;
  for (const target of targets)
    for (const flag of target.flags) {
      const option = new Option(flag.flags);
      const value = flags[option.attributeName()];
      if (value === undefined) continue;
      if (target.id !== kind)
        throw new ConfigError(`${option.long} applies to the ${target.id} target, not ${kind}`);
      overrides[flag.option] = value;
    }
  return overrides;
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
