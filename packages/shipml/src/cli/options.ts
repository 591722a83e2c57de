import type { Command } from 'commander';

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
