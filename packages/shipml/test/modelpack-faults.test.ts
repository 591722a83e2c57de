/**
 * What must never pass: a tampered artifact blob (a real registry behind a proxy that flips a
 * byte) is refused with one clear line and leaves nothing behind; a registry that refuses
 * the credentials fails the push with one clear line and no secret; a model whose files no
 * longer make the layer recorded at publish is not pushed and leaves no tag.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError, RegistryError } from '../src/core/errors.js';
import type { Digest } from '../src/oci/digest.js';
import { extractModelArtifact } from '../src/oci/modelpack/extract.js';
import { mountableLayer, readModelArtifact } from '../src/oci/modelpack/read.js';
import { pushModelArtifact } from '../src/oci/modelpack/write.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { publishToFileStore, smallModelFiles, TamperingProxy } from './helpers/modelpack.js';
import { registries } from './services.js';

const ns = `mpf${Date.now().toString(36)}`;
let work: string;
let proxy: TamperingProxy;
let proxied: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-modelpack-faults-'));
  proxy = new TamperingProxy(registries.plain);
  proxied = await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
  await rm(work, { recursive: true, force: true });
});

/** A message the CLI can print as is: one line, none of the given secrets. */
function expectOneCleanLine(err: unknown, secrets: string[]): void {
  const message = (err as Error).message;
  expect(message).not.toMatch(/\n/);
  for (const secret of secrets) expect(message).not.toContain(secret);
}

async function publishedArtifact(name: string): Promise<{ repository: string; layer: Digest }> {
  const { repo, manifest } = await publishToFileStore(work, name, '1.0.0', smallModelFiles(name));
  const target = parseReference(`${registries.plain}/${ns}/${name}`);
  await pushModelArtifact(new RegistryClient(registries.plain, { env: {} }), target, manifest, {
    openFile: (path) => repo.openFile(manifest, path),
  });
  return { repository: target.repository, layer: manifest.layer!.digest as Digest };
}

describe('ModelPack faults', () => {
  it('refuses a tampered layer with one clear line and extracts nothing', async () => {
    const { repository, layer } = await publishedArtifact('tampered');
    const client = new RegistryClient(proxied, { env: {} });
    const artifact = await readModelArtifact(client, {
      registry: proxied,
      repository,
      tag: '1.0.0',
    });

    // Through the same proxy, untampered, it extracts: the proxy alone breaks nothing.
    const clean = await extractModelArtifact(artifact, join(work, 'clean'));
    expect(clean.files).toHaveLength(3);

    proxy.tamper.add(layer);
    const dest = join(work, 'tampered-out');
    const refused = await extractModelArtifact(artifact, dest).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(IntegrityError);
    expect((refused as Error).message).toMatch(
      new RegExp(
        `layer ${layer}: received \\d+ bytes with sha256:[a-f0-9]{64}, expected \\d+ bytes with ${layer}; refused`,
      ),
    );
    expectOneCleanLine(refused, []);
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);

    // The same bytes offered as an image layer to mount or copy fail the same way.
    const asLayer = mountableLayer(artifact, '/models/tampered')!;
    const reading = (async () => {
      for await (const chunk of await asLayer.open()) void chunk;
    })();
    await expect(reading).rejects.toBeInstanceOf(IntegrityError);
    proxy.tamper.delete(layer);
  });

  it('refuses a tampered config before any layer is read', async () => {
    const { repository } = await publishedArtifact('badconfig');
    const direct = await readModelArtifact(new RegistryClient(registries.plain, { env: {} }), {
      registry: registries.plain,
      repository,
      tag: '1.0.0',
    });
    const config = direct.manifest.config.digest;
    proxy.tamper.add(config);
    const client = new RegistryClient(proxied, { env: {} });
    const refused = await readModelArtifact(client, {
      registry: proxied,
      repository,
      tag: '1.0.0',
    }).catch((err: unknown) => err);
    proxy.tamper.delete(config);
    expect(refused).toBeInstanceOf(IntegrityError);
    expect((refused as Error).message).toMatch(
      /config: received \d+ bytes with sha256:.*; refused/,
    );
    expectOneCleanLine(refused, []);
  });

  it('a registry that refuses the credentials fails with one clear line, no secret in it', async () => {
    const { repo, manifest } = await publishToFileStore(
      work,
      'authmodel',
      '1.0.0',
      smallModelFiles('auth'),
    );
    const target = parseReference(`${registries.auth}/${ns}/authmodel`);
    const wrong = `wrong-${registries.password}-secret`;
    const options = { openFile: (path: string) => repo.openFile(manifest, path) };
    const refused = await pushModelArtifact(
      new RegistryClient(registries.auth, {
        env: {},
        credentials: { username: registries.user, password: wrong },
      }),
      target,
      manifest,
      options,
    ).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).status).toBe(401);
    expect((refused as Error).message).toMatch(
      /unauthorized with the credentials from the registry settings in shipml.yaml/,
    );
    expectOneCleanLine(refused, [wrong, registries.password]);

    // The right credentials push, so the refusal above was about the credentials alone.
    const good = new RegistryClient(registries.auth, {
      env: {},
      credentials: { username: registries.user, password: registries.password },
    });
    expect(await good.manifestDigest(target.repository, '1.0.0')).toBeUndefined();
    const pushed = await pushModelArtifact(good, target, manifest, options);
    expect(await good.manifestDigest(target.repository, '1.0.0')).toBe(pushed.digest);
  });

  it('a model whose files do not make its recorded layer is not pushed and leaves no tag', async () => {
    const { repo, manifest } = await publishToFileStore(
      work,
      'drift',
      '1.0.0',
      smallModelFiles('drift'),
    );
    const forged = {
      ...manifest,
      layer: { ...manifest.layer!, digest: `sha256:${'ab'.repeat(32)}` },
    };
    const target = parseReference(`${registries.plain}/${ns}/drift`);
    const client = new RegistryClient(registries.plain, { env: {} });
    const refused = await pushModelArtifact(client, target, forged, {
      openFile: (path) => repo.openFile(manifest, path),
    }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(IntegrityError);
    expect((refused as Error).message).toMatch(
      /model drift@1\.0\.0: its model layer came out as \d+ bytes with sha256:[a-f0-9]{64}, but the model's manifest recorded/,
    );
    expectOneCleanLine(refused, []);
    expect(await client.manifestDigest(target.repository, '1.0.0')).toBeUndefined();
  });
});
