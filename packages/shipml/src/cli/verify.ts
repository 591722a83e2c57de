import type { Command } from 'commander';
import type { CommandRunner } from './context.js';
import { CONFIG_OPTION, lazyAction, registryImageCommand, type RegistryFlags } from './options.js';

/** `shipml verify`'s options. */
export interface VerifyFlags extends RegistryFlags {
  key: string;
  config?: string;
  requireSbom?: boolean;
  requireProvenance?: boolean;
}

/** `shipml verify IMAGE --key K`: signature, attestations, provenance vs labels; non-zero if anything is wrong. */
export function verifyCommand(run: CommandRunner): Command {
  return registryImageCommand('verify')
    .description(
      "verify an image's cosign signature and signed attestations with a public key, and that its provenance names the image's own commit and model",
    )
    .requiredOption('--key <file>', 'public key (PEM, e.g. cosign.pub) or env://NAME')
    .option('--require-sbom', 'fail when no signed SBOM is attached')
    .option('--require-provenance', 'fail when no signed provenance is attached')
    .option(...CONFIG_OPTION)
    .action(lazyAction<VerifyFlags>(run, async () => (await import('./verify-action.js')).verify));
}
