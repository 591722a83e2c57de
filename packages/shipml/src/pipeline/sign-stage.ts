/**
 * The `sign` stage, after push: signs the pushed image with `sign.key` (cosign-compatible) and
 * attaches its SBOM and SLSA provenance (attest/release.ts); the run report records each
 * attachment's digest. Off (skipped, saying so) when shipml.yaml has no `sign.key`.
 *
 * An image reused by the skip rule was signed by the run that built it, if that run had a key.
 * Rather than trust the earlier report, the stage verifies the image in the registry with the
 * key's public half: already signed and attested by this key, it is skipped (nothing new to
 * say); otherwise — the key was rotated, or the registry lost the attachments — it signs it
 * now, so a deploy policy never refuses a reused image that a fresh build would have passed.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fingerprintOf, loadSigningKey, type SigningKey } from '../attest/keys.js';
import type { SignReleaseInput } from '../attest/release.js';
import { verifyImage } from '../attest/verify.js';
import type { Manifest } from '../model-store/manifest.js';
import { parseLocation } from '../oci/locations.js';
import type { Image } from '../oci/types.js';
import { keySource } from './policy.js';
import { reached, StageFailure, type BuildRunOptions, type Run } from './run-state.js';
import type { RunReport, SignedImage } from './types.js';

/** The base image as the builder recorded it (OCI image-spec annotations.md). */
const BASE_DIGEST = 'org.opencontainers.image.base.digest';
const BASE_NAME = 'org.opencontainers.image.base.name';

export async function signStage(
  run: Run,
  options: BuildRunOptions,
  facts: {
    manifest: Manifest | undefined;
    /** The image as built by this run (its layers are local). */
    image?: Image | undefined;
    /** The earlier run whose image the skip rule reused. */
    reused?: RunReport | undefined;
  },
): Promise<void> {
  if (!reached(options.until, 'sign')) return;
  const configured = options.config.sign?.key;
  if (!configured) return run.skip('sign', 'no sign.key in shipml.yaml: the image is not signed');
  const pushed = run.report.image;
  if (!pushed) throw new StageFailure('no image to sign');
  if (parseLocation(pushed.reference).kind !== 'registry')
    return run.skip('sign', `${pushed.reference} is not in a registry: signatures live there`);
  // The key and the reused image's check belong to this stage: their failures are the sign
  // stage's (a wrong COSIGN_PASSWORD fails `sign`, not the run's start).
  let key: SigningKey;
  try {
    key = await loadSigningKey(
      keySource(configured, options.configFile, process.cwd()),
      options.env,
    );
  } catch (err) {
    return failed(run, err);
  }
  const fingerprint = fingerprintOf(key.publicKey);
  const display = `${fingerprint.slice(0, 23)} (${configured})`;

  if (facts.reused) {
    const reused = facts.reused;
    const already = await verifyImage(
      pushed.reference,
      { publicKey: key.publicKey, source: configured, fingerprint },
      options.registry,
      { requireSbom: true, requireProvenance: true },
    ).catch((err: unknown) => err as Error);
    if (already instanceof Error) return failed(run, already);
    if (already.ok) {
      const earlier = reused.signed;
      if (earlier?.key === fingerprint)
        run.report.signed = { ...earlier, reusedFrom: earlier.reusedFrom ?? reused.id };
      return run.skip(
        'sign',
        `the reused image is already signed by key ${display}, with its SBOM and provenance (run ${reused.id})`,
      );
    }
    run.log('sign', `the reused image is not signed by key ${display}: signing it now`);
  }

  await run.stage('sign', async () => {
    // Loaded on use: the SBOM builder (CycloneDX library) only when something is signed.
    const { signRelease } = await import('../attest/release.js');
    const result = await signRelease(signInput(run, options, facts, key, pushed.reference));
    const signed: SignedImage = {
      key: fingerprint,
      signature: result.signature.manifest,
      attachments: result.attachments.map((a) => ({
        kind: a.kind,
        envelope: a.envelope,
        referrer: a.referrer,
      })),
    };
    run.report.signed = signed;
    const attached = signed.attachments.map((a) => `${a.kind} ${a.envelope}`).join(', ');
    return `signed ${result.image} with key ${display}; attached ${attached}`;
  });
}

/** Records `err` as the sign stage's failure (and rethrows it, ending the run). */
function failed(run: Run, err: unknown): Promise<void> {
  return run.stage('sign', () => {
    throw err;
  });
}

function signInput(
  run: Run,
  options: BuildRunOptions,
  facts: { manifest: Manifest | undefined; image?: Image | undefined },
  key: SignReleaseInput['key'],
  reference: string,
): SignReleaseInput {
  const inputs = run.report.inputs;
  const annotations = facts.image?.manifest.annotations ?? {};
  const baseDigest = annotations[BASE_DIGEST];
  const gate = run.report.stages.find((s) => s.name === 'gate');
  const m = facts.manifest;
  return {
    reference,
    access: options.registry,
    key,
    shipmlVersion: shipmlVersion(),
    build: {
      tree: inputs?.tree,
      config: inputs
        ? {
            path: basename(options.configFile),
            sha256: inputs.configHash,
          }
        : undefined,
      runId: run.report.id,
      startedOn: new Date(run.report.startedAt),
      finishedOn: new Date(),
    },
    base:
      baseDigest && /^sha256:[a-f0-9]{64}$/.test(baseDigest)
        ? {
            reference: annotations[BASE_NAME] ?? options.config.build?.base ?? 'unknown',
            digest: baseDigest as `sha256:${string}`,
          }
        : undefined,
    image: facts.image,
    model: m && {
      name: m.name,
      version: m.version,
      digest: m.digest,
      channel: channelOf(options),
      files: m.files,
      metrics: run.report.metrics ?? m.metrics,
      // A skipped gate (none configured) is no verdict; a reused image passed its run's gate.
      gate:
        gate?.status === 'succeeded'
          ? { passed: true, checks: gate.detail.split('; ') }
          : run.report.reusedFrom && options.config.gate
            ? { passed: true, checks: [`passed in run ${run.report.reusedFrom}`] }
            : undefined,
    },
  };
}

/** The channel the model came from: `--model name:channel`, else model.channel; none for `@version`. */
function channelOf(options: BuildRunOptions): string | undefined {
  const ref = options.modelRef;
  if (ref?.includes('@')) return undefined;
  if (ref?.includes(':')) return ref.slice(ref.indexOf(':') + 1);
  return options.config.model?.channel;
}

/** ShipML's own version (package.json), for the provenance's builder. */
function shipmlVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
