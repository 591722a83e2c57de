import type { Command } from 'commander';
import type { CommandRunner } from './context.js';
import { CONFIG_OPTION, lazyAction, registryImageCommand, type RegistryFlags } from './options.js';

/** `shipml sbom`'s options. */
export interface SbomFlags extends RegistryFlags {
  key?: string;
  config?: string;
}

/** `shipml sbom IMAGE`: prints the CycloneDX SBOM attached to the image (verified with --key). */
export function sbomCommand(run: CommandRunner): Command {
  return registryImageCommand('sbom')
    .description(
      'print the CycloneDX 1.6 SBOM attached to an image (code, dependencies, base image, model)',
    )
    .option('--key <file>', 'only print an SBOM signed by this public key (PEM or env://NAME)')
    .option(...CONFIG_OPTION)
    .action(lazyAction<SbomFlags>(run, async () => (await import('./sbom-action.js')).sbom));
}
