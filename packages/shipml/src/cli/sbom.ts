import { Command } from 'commander';
import { findEnvelopes, PREDICATE } from '../attest/attestations.js';
import { openEnvelope, readEnvelopeUnverified, type Statement } from '../attest/dsse.js';
import { loadVerifyingKey } from '../attest/keys.js';
import { resolveTarget } from '../attest/target.js';
import { NotFoundError } from '../core/errors.js';
import { parseReference } from '../oci/remote/reference.js';
import { loadCliConfig, registryAccess, type CliContext, type CommandRunner } from './context.js';
import {
  CONFIG_OPTION,
  commonOptions,
  registryOptions,
  type CommonFlags,
  type RegistryFlags,
} from './options.js';

interface SbomFlags extends CommonFlags, RegistryFlags {
  key?: string;
  config?: string;
}

/** `shipml sbom IMAGE`: prints the CycloneDX SBOM attached to the image (verified with --key). */
export function sbomCommand(run: CommandRunner): Command {
  return commonOptions(registryOptions(new Command('sbom')))
    .description(
      'print the CycloneDX 1.6 SBOM attached to an image (code, dependencies, base image, model)',
    )
    .argument('<image>', 'registry reference (tag or digest)')
    .option('--key <file>', 'only print an SBOM signed by this public key (PEM or env://NAME)')
    .option(...CONFIG_OPTION)
    .action(async (image: string, flags: SbomFlags) => {
      await run((ctx) => sbom(ctx, image, flags), {
        json: Boolean(flags.json),
        debug: Boolean(flags.debug),
      });
    });
}

async function sbom(ctx: CliContext, image: string, flags: SbomFlags): Promise<void> {
  const loaded = await loadCliConfig(ctx, flags);
  const access = registryAccess(ctx, loaded, flags);
  const target = await resolveTarget(parseReference(image), access);
  const key = flags.key ? await loadVerifyingKey(flags.key, ctx.env) : undefined;
  for (const envelope of await findEnvelopes(target, ctx.signal)) {
    if (envelope.claimedType !== undefined && envelope.claimedType !== PREDICATE.sbom) continue;
    // With a key a bad signature is an error; without one, the SBOM is printed as attached.
    const statement: Statement | undefined = key
      ? openEnvelope(envelope.bytes, key, `SBOM ${envelope.where}`)
      : readEnvelopeUnverified(envelope.bytes);
    if (statement?.predicateType !== PREDICATE.sbom) continue;
    if (!statement.subject.some((s) => `sha256:${s.digest.sha256}` === target.ref.digest)) continue;
    // The SBOM is JSON either way: print it as is (stdout stays parseable).
    return ctx.output.json(statement.predicate);
  }
  throw new NotFoundError(`${target.repositoryName}@${target.ref.digest} has no SBOM attached`, {
    hint: "images get one from the pipeline's sign stage (sign.key in shipml.yaml)",
  });
}
