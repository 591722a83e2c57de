/**
 * Verifies an image the way a deploy policy needs it: a signature by the key bound to this
 * very digest (cosign simple signing), every attestation attached (DSSE) verifying with the
 * same key and naming this digest as its subject (in-toto), and the provenance agreeing with
 * what the image says about itself — its revision label and its model (the label, and the
 * model layer's descriptor annotation and digest). The labels are read with the code deploy
 * already uses (deploy/release.ts `provenanceOf`), so "which commit, which model" has one answer.
 *
 * Returns every finding rather than stopping at the first; each failure is one line.
 */
import { provenanceOf } from '../deploy/release.js';
import type { RegistryAccess } from '../oci/locations.js';
import { pullImage } from '../oci/remote/read.js';
import { parseReference } from '../oci/remote/reference.js';
import { findEnvelopes, PREDICATE, type AttestationKind } from './attestations.js';
import { openEnvelope, type Statement } from './dsse.js';
import type { VerifyingKey } from './keys.js';
import { provenanceClaims } from './provenance.js';
import { checkSignatures, short } from './signature.js';
import { pinnedName, resolveTarget, type AttestTarget } from './target.js';

/** What deploy asks for (shipml.yaml `deploy.verify`). */
export interface VerifyPolicy {
  requireSbom?: boolean | undefined;
  requireProvenance?: boolean | undefined;
}

/** The outcome: what verified, and each failure in one line. */
export interface VerifyResult {
  ok: boolean;
  /** `registry/repository@sha256:…` */
  image: string;
  /** One line per valid signature: who (key) signed what (reference). */
  signatures: string[];
  attestations: Array<{ kind: AttestationKind | 'other'; predicateType: string; envelope: string }>;
  failures: string[];
  /** The verified statements by kind (the SBOM for `shipml sbom`). */
  statements: Partial<Record<AttestationKind, Statement>>;
}

/** Verifies `reference` (tag or digest) with `key`; never throws for a verification failure. */
export async function verifyImage(
  reference: string,
  key: VerifyingKey,
  access: RegistryAccess,
  policy: VerifyPolicy = {},
): Promise<VerifyResult> {
  const target = await resolveTarget(parseReference(reference), access);
  const name = pinnedName(target);
  const result: VerifyResult = {
    ok: false,
    image: name,
    signatures: [],
    attestations: [],
    failures: [],
    statements: {},
  };
  const fail = (line: string) => result.failures.push(`${name}: ${line}`);

  const checks = await checkSignatures(target, key, access.signal);
  for (const c of checks.filter((c) => c.valid))
    result.signatures.push(
      `signed by key ${short(key)}: ${c.dockerReference}@${target.ref.digest}`,
    );
  if (checks.length === 0) fail('not signed (no cosign signature found)');
  else if (result.signatures.length === 0)
    fail(`no valid signature: ${checks.map((c) => c.problem).join('; ')}`);

  for (const envelope of await findEnvelopes(target, access.signal)) {
    let statement: Statement;
    try {
      statement = openEnvelope(envelope.bytes, key, `attestation ${envelope.where}`);
    } catch (err) {
      fail((err as Error).message);
      continue;
    }
    const subjects = (statement.subject ?? []).map((s) => `sha256:${s.digest?.sha256}`);
    if (!subjects.includes(target.ref.digest)) {
      fail(
        `attestation ${envelope.where} is about ${subjects.join(', ') || 'nothing'}, not this image`,
      );
      continue;
    }
    const kind = kindOf(statement.predicateType);
    result.attestations.push({
      kind,
      predicateType: statement.predicateType,
      envelope: envelope.digest,
    });
    if (kind !== 'other') result.statements[kind] ??= statement;
    if (kind === 'provenance') await checkProvenance(target, statement, access, fail);
  }
  if (policy.requireSbom && !result.statements.sbom) fail('no signed SBOM attestation');
  if (policy.requireProvenance && !result.statements.provenance)
    fail('no signed provenance attestation');
  result.ok = result.failures.length === 0;
  return result;
}

function kindOf(predicateType: string): AttestationKind | 'other' {
  if (predicateType === PREDICATE.sbom) return 'sbom';
  if (predicateType === PREDICATE.provenance) return 'provenance';
  return 'other';
}

/** Provenance must name the image's own commit and model (labels and model layer). */
async function checkProvenance(
  target: AttestTarget,
  statement: Statement,
  access: RegistryAccess,
  fail: (line: string) => void,
): Promise<void> {
  const claims = provenanceClaims(statement);
  if (!claims) return fail('provenance is not SLSA v1 provenance ShipML can read');
  const image = await pullImage(target.client, target.ref, { signal: access.signal });
  const labels = provenanceOf(image.config.config?.Labels ?? {});
  if (labels.commit !== claims.revision)
    fail(
      `provenance names commit ${claims.revision ?? 'none'}, the image's label says ${labels.commit ?? 'none'}`,
    );
  if (labels.model?.digest !== claims.modelDigest)
    fail(
      `provenance names model ${claims.modelDigest ?? 'none'}, the image's label says ${labels.model?.digest ?? 'none'}`,
    );
  const layers = image.manifest.layers.filter((l) => l.annotations?.['dev.shipml.model.digest']);
  const modelLayer = layers.find(
    (l) => l.annotations?.['dev.shipml.model.digest'] === labels.model?.digest,
  );
  if (labels.model && !modelLayer) fail(`no layer carries the model ${labels.model.digest}`);
  if (
    modelLayer &&
    claims.modelDigest &&
    modelLayer.annotations?.['dev.shipml.model.digest'] !== claims.modelDigest
  )
    fail(
      `provenance names model ${claims.modelDigest}, the model layer carries ${modelLayer.annotations?.['dev.shipml.model.digest']}`,
    );
  if (modelLayer && claims.modelLayerDigest && modelLayer.digest !== claims.modelLayerDigest)
    fail(
      `provenance names model layer ${claims.modelLayerDigest}, the image's model layer is ${modelLayer.digest}`,
    );
}

/** The result as lines for people: who signed what, what is attested, each failure. */
export function verifyReport(result: VerifyResult): string[] {
  return [
    ...result.signatures,
    ...result.attestations.map(
      (a) => `attested ${a.kind} (${a.predicateType}), envelope ${a.envelope}`,
    ),
    ...result.failures.map((f) => `FAILED ${f}`),
    result.ok ? `verified ${result.image}` : `NOT verified ${result.image}`,
  ];
}
