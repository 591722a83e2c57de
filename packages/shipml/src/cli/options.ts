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

/** A flag some targets declare, and which of them do (two targets may share `--port`). */
interface SharedFlag {
  option: Option;
  users: Array<{ target: string; option: string; description: string }>;
}

/** The targets' flags by long name; declaring one flag two ways is a programming error. */
function targetFlagTable(): Map<string, SharedFlag> {
  const table = new Map<string, SharedFlag>();
  const targets: readonly TargetDescriptor[] = deployTargets.all;
  for (const target of targets)
    for (const flag of target.flags) {
      const option = new Option(flag.flags);
      if (flag.integer) option.argParser(positiveInteger(option.long ?? flag.flags));
      const name = option.long ?? flag.flags;
      const entry = table.get(name) ?? { option, users: [] };
      if (entry.option.flags !== option.flags)
        throw new Error(
          `deploy targets declare ${name} as "${entry.option.flags}" and "${option.flags}"`,
        );
      entry.users.push({ target: target.id, option: flag.option, description: flag.description });
      table.set(name, entry);
    }
  return table;
}

/** Every target's own flags (`--port`, `--kubeconfig`, ...), from the registry, each saying whose it is. */
export function targetOverrideOptions(cmd: Command): Command {
  for (const { option, users } of targetFlagTable().values()) {
    const same = users.every((u) => u.description === users[0]!.description);
    option.description = same
      ? `${users.map((u) => u.target).join(', ')}: ${users[0]!.description}`
      : users.map((u) => `${u.target}: ${u.description}`).join('; ');
    cmd.addOption(option);
  }
  return cmd;
}

/**
 * The chosen target's flag values by option name. A flag only other targets have is refused
 * rather than silently ignored (`--port` means nothing to Kubernetes).
 */
export function targetOverrides(
  kind: string,
  flags: Record<string, unknown>,
): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [name, { option, users }] of targetFlagTable()) {
    const value = flags[option.attributeName()];
    if (value === undefined) continue;
    const mine = users.find((u) => u.target === kind);
    if (!mine) {
      const whose = users.map((u) => u.target).join(' and ');
      throw new ConfigError(`${name} applies to the ${whose} target, not ${kind}`);
    }
    overrides[mine.option] = value;
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
