/** What `shipml sbom` does (imported when it runs). */
import { findEnvelopes, PREDICATE } from '../attest/attestations.js';
import { openEnvelope, readEnvelopeUnverified, type Statement } from '../attest/dsse.js';
import { loadVerifyingKey } from '../attest/keys.js';
import { resolveTarget } from '../attest/target.js';
import { NotFoundError } from '../core/errors.js';
import { parseReference } from '../oci/remote/reference.js';
import { registryAccess } from './access.js';
import { loadCliConfig, type CliContext } from './context.js';
import type { SbomFlags } from './sbom.js';

/** Prints the image's attached SBOM; with --key only one signed by that key. */
export async function sbom(ctx: CliContext, flags: SbomFlags, image: string): Promise<void> {
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
