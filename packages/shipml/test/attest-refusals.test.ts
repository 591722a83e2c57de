import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachAttestations } from '../src/attest/attestations.js';
import { appendCosignLayer, cosignTag, readCosignLayers } from '../src/attest/cosign-layout.js';
import { DSSE_MEDIA_TYPE } from '../src/attest/dsse.js';
import { generateKeyPair, loadSigningKey, type SigningKey } from '../src/attest/keys.js';
import { provenanceStatement } from '../src/attest/provenance.js';
import { attachArtifact, listReferrers } from '../src/attest/referrers.js';
import { findManifest, putManifest } from '../src/attest/registry.js';
import { resolveTarget } from '../src/attest/target.js';
import { OciImage } from '../src/oci/image.js';
import { MediaType } from '../src/oci/media-types.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { runAttestCli } from './helpers/attest-cli.js';
import { buildApp, signWithShipml, type BuiltApp } from './helpers/attest-image.js';
import { skipAttestTools, validateCycloneDx } from './helpers/attest-tools.js';
import { registries } from './services.js';

/** Each way an image can be wrong is refused by `shipml verify` with one clear line. */
const ns = `rf${Date.now().toString(36)}`;
let work: string;
let key: SigningKey;
const images: Record<string, BuiltApp> = {};
const pub = () => join(work, 'k.pub');
const access = { env: {} as NodeJS.ProcessEnv };
const client = () => new RegistryClient(registries.plain, access);

async function refused(reference: string): Promise<string> {
  const res = await runAttestCli(['verify', reference, '--key', pub()], {});
  expect(res.code, res.stdout).toBe(1);
  const lines = res.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  return res.stdout + res.stderr;
}

beforeAll(async () => {
  if (skipAttestTools) return;
  work = await mkdtemp(join(tmpdir(), 'shipml-refusals-'));
  const pair = await generateKeyPair('');
  await writeFile(join(work, 'k.key'), pair.privatePem);
  await writeFile(pub(), pair.publicPem);
  key = await loadSigningKey(join(work, 'k.key'), { COSIGN_PASSWORD: '' });
  for (const tag of ['sbom', 'prov', 'model']) {
    images[tag] = await buildApp(work, registries.plain, ns, tag, `weights-${tag}`);
    await signWithShipml(images[tag], key);
  }
}, 240_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(skipAttestTools)('shipml verify refuses', () => {
  it('a signature copied from another image', async () => {
    const other = `${registries.plain}/${ns}/app:unrelated`;
    const pushed = await pushImage(client(), parseReference(other), OciImage.empty());
    const from = images.sbom!;
    const sig = await findManifest(client(), `${ns}/app`, cosignTag(from.digest as never, 'sig'));
    await putManifest(
      client(),
      `${ns}/app`,
      cosignTag(pushed.digest, 'sig'),
      sig!.bytes,
      MediaType.ociManifest,
    );
    const out = await refused(`${registries.plain}/${ns}/app@${pushed.digest}`);
    expect(out).toContain(
      `error: ${registries.plain}/${ns}/app@${pushed.digest}: no valid signature: a signature is for ${registries.plain}/${ns}/app@${from.digest}, not this image (copied from another image)`,
    );
  });

  it('a tampered SBOM (its statement changed after signing)', async () => {
    const image = images.sbom!;
    const target = await resolveTarget(parseReference(image.reference), access);
    const [sbomRef] = await listReferrers(target.client, target.ref.repository, target.ref.digest, {
      artifactType: 'application/vnd.cyclonedx+json',
    });
    const manifest = JSON.parse(
      (await findManifest(target.client, target.ref.repository, sbomRef!.digest))!.bytes.toString(),
    ) as { layers: Array<{ digest: `sha256:${string}` }> };
    const envelope = JSON.parse(
      (
        await target.client.getBlobBytes(target.ref.repository, manifest.layers[0]!.digest)
      ).toString(),
    ) as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
      predicate: { components: Array<{ name: string; version?: string }> };
    };
    statement.predicate.components.find((c) => c.name === 'left-pad')!.version = '9.9.9';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await attachArtifact(target.client, target.ref.repository, target.subject, {
      artifactType: 'application/vnd.cyclonedx+json',
      layers: [{ mediaType: DSSE_MEDIA_TYPE, bytes: Buffer.from(JSON.stringify(envelope)) }],
    });
    const out = await refused(image.reference);
    expect(out).toMatch(
      /error: .*: attestation referrer sha256:[0-9a-f]{12}: signature does not verify with key SHA256:[0-9a-f]{16} \(.*k\.pub\)/,
    );
  });

  it("a tampered provenance (in cosign's .att image)", async () => {
    const image = images.prov!;
    const repo = `${ns}/app`;
    const tag = cosignTag(image.digest as never, 'att');
    const layers = await readCosignLayers(client(), repo, tag);
    const prov = layers.find(
      (l) => l.annotations.predicateType === 'https://slsa.dev/provenance/v1',
    )!;
    const envelope = JSON.parse(prov.bytes.toString()) as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
      predicate: { buildDefinition: { externalParameters: { revision: string } } };
    };
    statement.predicate.buildDefinition.externalParameters.revision = '0'.repeat(40);
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await appendCosignLayer(client(), repo, tag, {
      mediaType: DSSE_MEDIA_TYPE,
      bytes: Buffer.from(JSON.stringify(envelope)),
      annotations: prov.annotations,
    });
    const out = await refused(image.reference);
    expect(out).toContain(`attestation ${tag}: signature does not verify with key`);
  });

  it("provenance whose model digest differs from the image's model layer (validly signed)", async () => {
    const image = images.model!;
    const foreign = images.sbom!.model.digest;
    const target = await resolveTarget(parseReference(image.reference), access);
    const statement = provenanceStatement({
      image: { name: target.repositoryName, digest: target.ref.digest },
      revision: image.commit,
      model: { name: 'm', version: 'model', digest: foreign },
      shipmlVersion: '0.0.0-test',
    });
    await attachAttestations(target, key, [{ kind: 'provenance', statement }]);
    const out = await refused(image.reference);
    expect(out).toContain(
      `provenance names model ${foreign}, the image's label says ${image.model.digest}`,
    );
  });

  it('and the independent SBOM validator does reject a broken document', async () => {
    expect(
      await validateCycloneDx(
        JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ name: 'x' }] }),
      ),
    ).not.toBeNull();
  });
});
