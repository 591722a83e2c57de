/** What `shipml verify` does (imported when it runs). */
import { loadVerifyingKey } from '../attest/keys.js';
import { verifyImage, verifyReport } from '../attest/verify.js';
import { IntegrityError } from '../core/errors.js';
import { registryAccess } from './access.js';
import { loadCliConfig, type CliContext } from './context.js';
import type { VerifyFlags } from './verify.js';

/** Verifies the image's signature and attestations; throws if any check fails. */
export async function verify(ctx: CliContext, flags: VerifyFlags, image: string): Promise<void> {
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
