import { Command } from 'commander';
import { loadVerifyingKey } from '../attest/keys.js';
import { verifyImage, verifyReport } from '../attest/verify.js';
import { IntegrityError } from '../core/errors.js';
import { loadCliConfig, registryAccess, type CliContext, type CommandRunner } from './context.js';
import {
  CONFIG_OPTION,
  commonOptions,
  registryOptions,
  type CommonFlags,
  type RegistryFlags,
} from './options.js';

interface VerifyFlags extends CommonFlags, RegistryFlags {
  key: string;
  config?: string;
  requireSbom?: boolean;
  requireProvenance?: boolean;
}

/** `shipml verify IMAGE --key K`: signature, attestations, provenance vs labels; non-zero if anything is wrong. */
export function verifyCommand(run: CommandRunner): Command {
  return commonOptions(registryOptions(new Command('verify')))
    .description(
      "verify an image's cosign signature and signed attestations with a public key, and that its provenance names the image's own commit and model",
    )
    .argument('<image>', 'registry reference (tag or digest)')
    .requiredOption('--key <file>', 'public key (PEM, e.g. cosign.pub) or env://NAME')
    .option('--require-sbom', 'fail when no signed SBOM is attached')
    .option('--require-provenance', 'fail when no signed provenance is attached')
    .option(...CONFIG_OPTION)
    .action(async (image: string, flags: VerifyFlags) => {
      await run((ctx) => verify(ctx, image, flags), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    });
}

async function verify(ctx: CliContext, image: string, flags: VerifyFlags): Promise<void> {
  const loaded = await loadCliConfig(ctx, flags);
  const key = await loadVerifyingKey(flags.key, ctx.env);
  const result = await verifyImage(image, key, registryAccess(ctx, loaded, flags), {
    requireSbom: flags.requireSbom,
    requireProvenance: flags.requireProvenance,
  });
  if (flags.json) {
    const { statements: _statements, ...summary } = result;
    ctx.output.json(summary);
  } else for (const line of verifyReport(result)) ctx.output.line(line);
  if (!result.ok)
    throw new IntegrityError(
      result.failures.length === 1
        ? result.failures[0]!
        : `${result.failures[0]!} (and ${result.failures.length - 1} more)`,
      { hint: 'the image is not what its signer attached: do not deploy it' },
    );
}
