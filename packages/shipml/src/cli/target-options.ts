/**
 * The deploy targets' options, derived from their registry. Apart from options.ts because
 * the registry brings every target's schema (zod) with it: only the commands that choose a
 * target load this.
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { deployTargets } from '../deploy/registry.js';
import type { TargetDescriptor } from '../deploy/types.js';
import { positiveInteger } from './options.js';

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
