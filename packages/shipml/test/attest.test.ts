import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigningKey, type SigningKey } from '../src/attest/keys.js';
import { buildApp, signWithShipml, type BuiltApp } from './helpers/attest-image.js';
import { runAttestCli } from './helpers/attest-cli.js';
import {
  COSIGN_LOCAL,
  runTool,
  skipAttestTools,
  tools,
  validateCycloneDx,
} from './helpers/attest-tools.js';
import { registries } from './services.js';

/**
 * ShipML's signatures and attestations against the independent tools, on a real registry
 * (CNCF distribution, no referrers API) with an image `shipml build --push` made:
 * cosign verifies what ShipML signed, ShipML verifies what cosign signed, the SBOM passes the
 * CycloneDX 1.6 schema in cyclonedx-python-lib, and oras lists the attachments.
 */
/** The parts of a CycloneDX component the assertions read. */
interface BomComponent {
  name: string;
  hashes: Array<{ alg: string; content: string }>;
  components?: BomComponent[];
  modelCard?: { quantitativeAnalysis: { performanceMetrics: unknown[] }; properties: unknown[] };
}

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const ns = `att${Date.now().toString(36)}`;
let work: string;
let key: SigningKey;
let a: BuiltApp;
let b: BuiltApp;
const pub = () => join(work, 'shipml.pub');

beforeAll(async () => {
  if (skipAttestTools) return;
  work = await mkdtemp(join(tmpdir(), 'shipml-attest-'));
  for (const [prefix, password] of [
    ['shipml', PASSWORD],
    ['wrong', 'other'],
  ] as const) {
    const pair = await generateKeyPair(password);
    await writeFile(join(work, `${prefix}.key`), pair.privatePem, { mode: 0o600 });
    await writeFile(join(work, `${prefix}.pub`), pair.publicPem);
  }
  key = await loadSigningKey(join(work, 'shipml.key'), { COSIGN_PASSWORD: PASSWORD });
  a = await buildApp(work, registries.plain, ns, '1');
  b = await buildApp(work, registries.plain, ns, '2', 'w2');
  await signWithShipml(a, key, `${registries.plain}/${ns}/base:1`);
}, 180_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(skipAttestTools)('ShipML signs, cosign verifies', () => {
  it('cosign verify --key accepts the signature, bound to the image digest', async () => {
    const res = await runTool(tools.cosign, [
      'verify',
      '--key',
      pub(),
      '--insecure-ignore-tlog=true',
      ...COSIGN_LOCAL,
      a.reference,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const [claim] = JSON.parse(res.stdout) as Array<{
      critical: { image: { 'docker-manifest-digest': string } };
      optional: Record<string, string>;
    }>;
    expect(claim!.critical.image['docker-manifest-digest']).toBe(a.digest);
    expect(claim!.optional['org.opencontainers.image.revision']).toBe(a.commit);
  });

  it('cosign verify-attestation accepts the SLSA v1 provenance and the CycloneDX SBOM', async () => {
    for (const type of ['slsaprovenance1', 'cyclonedx']) {
      const res = await runTool(tools.cosign, [
        'verify-attestation',
        '--key',
        pub(),
        '--type',
        type,
        '--insecure-ignore-tlog=true',
        ...COSIGN_LOCAL,
        a.reference,
      ]);
      expect(res.code, `${type}: ${res.stderr}`).toBe(0);
      const envelope = JSON.parse(res.stdout.trim().split('\n')[0]!) as { payload: string };
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
        subject: Array<{ digest: { sha256: string } }>;
        predicate: { buildDefinition?: { externalParameters: { revision: string } } };
      };
      expect(`sha256:${statement.subject[0]!.digest.sha256}`).toBe(a.digest);
      if (type === 'slsaprovenance1')
        expect(statement.predicate.buildDefinition!.externalParameters.revision).toBe(a.commit);
    }
  });

  it('shipml verify prints who signed what and passes with SBOM and provenance required', async () => {
    const res = await runAttestCli(
      ['verify', a.reference, '--key', pub(), '--require-sbom', '--require-provenance'],
      {},
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(
        `signed by key SHA256:[0-9a-f]{16} \\(${pub()}\\): ${registries.plain}/${ns}/app@${a.digest}`,
      ),
    );
    expect(res.stdout).toMatch(/attested sbom \(https:\/\/cyclonedx\.org\/bom\)/);
    expect(res.stdout).toMatch(/attested provenance \(https:\/\/slsa\.dev\/provenance\/v1\)/);
    expect(res.stdout).toContain(`verified ${registries.plain}/${ns}/app@${a.digest}`);
  });

  it('the SBOM is valid CycloneDX 1.6 (cyclonedx-python-lib) and lists deps, base image and the model', async () => {
    const res = await runAttestCli(['sbom', a.reference, '--key', pub()], {});
    expect(res.code, res.stderr).toBe(0);
    expect(await validateCycloneDx(res.stdout)).toBeNull();
    const bom = JSON.parse(res.stdout) as { specVersion: string; components: BomComponent[] };
    expect(bom.specVersion).toBe('1.6');
    const byName = (n: string) => bom.components.find((c) => c.name === n)!;
    expect(byName('left-pad')).toMatchObject({
      version: '1.3.0',
      purl: 'pkg:npm/left-pad@1.3.0',
      licenses: [{ license: { id: 'WTFPL' } }],
    });
    expect(byName('left-pad').hashes[0]).toMatchObject({ alg: 'SHA-512' });
    expect(byName('util')).toMatchObject({
      group: '@acme',
      version: '2.0.1',
      licenses: [{ expression: 'MIT OR Apache-2.0' }],
    });
    const model = byName('m');
    expect(model).toMatchObject({ type: 'machine-learning-model', version: '1' });
    expect(model.hashes[0]!.content).toBe(a.model.digest.slice(7));
    const files = Object.fromEntries(model.components!.map((f) => [f.name, f.hashes[0]!.content]));
    expect(files).toEqual(Object.fromEntries(a.model.files.map((f) => [f.path, f.sha256])));
    expect(model.modelCard!.quantitativeAnalysis.performanceMetrics).toEqual([
      { type: 'accuracy', value: '0.97' },
      { type: 'loss', value: '0.08' },
    ]);
    expect(model.modelCard!.properties).toContainEqual({
      name: 'shipml:gate:result',
      value: 'passed',
    });
    expect(byName(`${registries.plain}/${ns}/base:1`)).toMatchObject({
      type: 'container',
      version: `sha256:${'b'.repeat(64)}`,
    });
  });

  it('oras discover lists the signature, the SBOM and the provenance as referrers', async () => {
    const res = await runTool(tools.oras, [
      'discover',
      '--plain-http',
      '--format',
      'json',
      a.reference,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const listed = JSON.parse(res.stdout) as {
      referrers?: Array<{ artifactType: string }>;
      manifests?: Array<{ artifactType: string }>;
    };
    const types = (listed.referrers ?? listed.manifests ?? []).map((r) => r.artifactType).sort();
    expect(types).toEqual([
      'application/vnd.cyclonedx+json',
      'application/vnd.dev.cosign.artifact.sig.v1+json',
      'application/vnd.in-toto+json',
    ]);
  });
});

describe.skipIf(skipAttestTools)('cosign signs, ShipML verifies', () => {
  it('an unsigned image is refused with one line', async () => {
    const res = await runAttestCli(['verify', b.reference, '--key', pub()], {});
    expect(res.code).toBe(1);
    expect(res.stderr.split('\n')[0]).toBe(
      `error: ${registries.plain}/${ns}/app@${b.digest}: not signed (no cosign signature found)`,
    );
  });

  it('an image cosign signed (and attested) is accepted', async () => {
    const env = { COSIGN_PASSWORD: PASSWORD };
    const signed = await runTool(
      tools.cosign,
      [
        'sign',
        '--key',
        join(work, 'shipml.key'),
        '--tlog-upload=false',
        ...COSIGN_LOCAL,
        '--yes',
        b.reference,
      ],
      env,
    );
    expect(signed.code, signed.stderr).toBe(0);
    const predicate = join(work, 'provenance.json');
    await writeFile(
      predicate,
      JSON.stringify({
        buildDefinition: {
          buildType: 'urn:example',
          externalParameters: { revision: b.commit },
          resolvedDependencies: [{ name: 'model', digest: { sha256: b.model.digest.slice(7) } }],
        },
        runDetails: { builder: { id: 'urn:cosign-test' } },
      }),
    );
    const attested = await runTool(
      tools.cosign,
      [
        'attest',
        '--key',
        join(work, 'shipml.key'),
        '--type',
        'slsaprovenance1',
        '--predicate',
        predicate,
        '--tlog-upload=false',
        ...COSIGN_LOCAL,
        '--yes',
        b.reference,
      ],
      env,
    );
    expect(attested.code, attested.stderr).toBe(0);
    const res = await runAttestCli(
      ['verify', b.reference, '--key', pub(), '--require-provenance'],
      {},
    );
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain(`verified ${registries.plain}/${ns}/app@${b.digest}`);
  });

  it('a wrong key is refused with one line', async () => {
    const res = await runAttestCli(['verify', a.reference, '--key', join(work, 'wrong.pub')], {});
    expect(res.code).toBe(1);
    expect(res.stderr.split('\n')[0]).toMatch(
      /^error: .*: no valid signature: a signature does not verify with key SHA256:[0-9a-f]{16} \(.*wrong\.pub\) \(and \d+ more\)$/,
    );
  });
});
