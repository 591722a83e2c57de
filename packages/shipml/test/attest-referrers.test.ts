import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachArtifact, listReferrers, referrersTag } from '../src/attest/referrers.js';
import { findManifest, referrersApi } from '../src/attest/registry.js';
import { resolveTarget } from '../src/attest/target.js';
import { OciImage } from '../src/oci/image.js';
import { withAnnotations } from '../src/oci/mutate.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { generateKeyPair, loadSigningKey } from '../src/attest/keys.js';
import { runAttestCli } from './helpers/attest-cli.js';
import { buildApp, signWithShipml } from './helpers/attest-image.js';
import { COSIGN_LOCAL, runTool, skipAttestTools, tools } from './helpers/attest-tools.js';
import { freePort } from './helpers/ports.js';
import { registries } from './services.js';

/**
 * OCI 1.1 referrers both ways on both kinds of registry: go-containerregistry's (with the referrers API) and
 * CNCF distribution 2.8 (without: the `sha256-<hex>` tag schema). What ShipML attaches, oras
 * discovers; what oras attaches, ShipML lists.
 */
let server: ChildProcess | undefined;
let apiAddress: string;
let work: string;

beforeAll(async () => {
  if (skipAttestTools) return;
  work = await mkdtemp(join(tmpdir(), 'shipml-referrers-'));
  await writeFile(join(work, 'note.txt'), 'attached by oras\n');
  const port = await freePort();
  apiAddress = `127.0.0.1:${port}`;
  server = spawn(tools.referrersRegistry, ['--address', apiAddress], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`http://${apiAddress}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`referrers registry did not start on ${apiAddress}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  if (server?.pid) server.kill('SIGTERM');
  if (work) await rm(work, { recursive: true, force: true });
});

async function pushSubject(registry: string, name: string) {
  const ref = parseReference(`${registry}/${name}:v1`);
  // A distinct image per test run: annotations change the manifest digest.
  const image = withAnnotations(OciImage.empty(), { 'test.run': `${name}-${Date.now()}` });
  const client = new RegistryClient(registry, { env: {} });
  await pushImage(client, ref, image);
  return resolveTarget(ref, { env: {} }, client);
}

const cases = [
  {
    kind: 'with the referrers API (go-containerregistry)',
    registry: () => apiAddress,
    mode: 'referrers-api',
    api: true,
  },
  {
    kind: 'without it (distribution 2.8: tag schema)',
    registry: () => registries.plain,
    mode: 'referrers-tag',
    api: false,
  },
] as const;

describe.skipIf(skipAttestTools).each(cases)(
  'referrers on a registry $kind',
  ({ registry, mode, api }) => {
    it('ShipML attaches; the registry or the fallback tag indexes it; oras discover lists it', async () => {
      const target = await pushSubject(registry(), `refs/${api ? 'api' : 'tag'}`);
      const repo = target.ref.repository;
      const attached = await attachArtifact(target.client, repo, target.subject, {
        artifactType: 'application/vnd.example.note',
        layers: [{ mediaType: 'text/plain', bytes: Buffer.from('hello') }],
      });
      expect(attached.mode).toBe(mode);
      expect(Boolean(await referrersApi(target.client, repo, target.ref.digest))).toBe(api);
      // The fallback tag exists only where the registry has no API (nothing to keep in sync otherwise).
      expect(
        Boolean(await findManifest(target.client, repo, referrersTag(target.ref.digest))),
      ).toBe(!api);
      const listed = await listReferrers(target.client, repo, target.ref.digest);
      expect(listed.map((r) => [r.digest, r.artifactType])).toEqual([
        [attached.digest, 'application/vnd.example.note'],
      ]);
      const discover = await runTool(tools.oras, [
        'discover',
        '--plain-http',
        '--format',
        'json',
        `${registry()}/${repo}@${target.ref.digest}`,
      ]);
      expect(discover.code, discover.stderr).toBe(0);
      const found = JSON.parse(discover.stdout) as {
        referrers?: Array<{ digest: string }>;
        manifests?: Array<{ digest: string }>;
      };
      expect((found.referrers ?? found.manifests ?? []).map((r) => r.digest)).toEqual([
        attached.digest,
      ]);
    });

    it('oras attaches; ShipML lists it (and filters by artifactType)', async () => {
      const target = await pushSubject(registry(), `refs/oras-${api ? 'api' : 'tag'}`);
      const ref = `${registry()}/${target.ref.repository}@${target.ref.digest}`;
      const res = await runTool(
        tools.oras,
        [
          'attach',
          '--plain-http',
          '--artifact-type',
          'application/vnd.example.oras',
          ref,
          'note.txt:text/plain',
        ],
        {},
        work,
      );
      expect(res.code, res.stderr).toBe(0);
      const all = await listReferrers(target.client, target.ref.repository, target.ref.digest);
      expect(all.map((r) => r.artifactType)).toEqual(['application/vnd.example.oras']);
      const none = await listReferrers(target.client, target.ref.repository, target.ref.digest, {
        artifactType: 'other/type',
      });
      expect(none).toEqual([]);
    });
  },
);

describe.skipIf(skipAttestTools)('sign and verify on a registry with the referrers API', () => {
  it('signRelease attaches through the API; shipml verify, cosign verify and oras discover agree', async () => {
    const pair = await generateKeyPair('');
    await writeFile(join(work, 'api.key'), pair.privatePem);
    await writeFile(join(work, 'api.pub'), pair.publicPem);
    const app = await buildApp(work, apiAddress, 'ns', 'api');
    await signWithShipml(app, await loadSigningKey(join(work, 'api.key'), { COSIGN_PASSWORD: '' }));
    const verified = await runAttestCli(
      [
        'verify',
        app.reference,
        '--key',
        join(work, 'api.pub'),
        '--require-sbom',
        '--require-provenance',
      ],
      {},
    );
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const cosign = await runTool(tools.cosign, [
      'verify',
      '--key',
      join(work, 'api.pub'),
      '--insecure-ignore-tlog=true',
      ...COSIGN_LOCAL,
      app.reference,
    ]);
    expect(cosign.code, cosign.stderr).toBe(0);
    const discover = await runTool(tools.oras, [
      'discover',
      '--plain-http',
      '--format',
      'json',
      app.reference,
    ]);
    expect(discover.code, discover.stderr).toBe(0);
    const found = JSON.parse(discover.stdout) as { referrers?: unknown[]; manifests?: unknown[] };
    expect((found.referrers ?? found.manifests ?? []).length).toBe(3);
  });
});
