/**
 * ShipML publishes a model version as a CNCF ModelPack artifact, checked with the real oras
 * CLI against the real registry: oras sees the artifactType, pulls a layer that is exactly
 * ShipML's model layer (the digest the builder puts into images), and the files in it are the
 * model's, byte for byte.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelLayer } from '../src/builders/model-layer.js';
import { ConflictError } from '../src/core/errors.js';
import { BlobDir } from '../src/oci/blobs.js';
import { ModelPack, ModelPackAnnotation } from '../src/oci/modelpack/media-types.js';
import { extractModelArtifact } from '../src/oci/modelpack/extract.js';
import { mountableLayer, readModelArtifact } from '../src/oci/modelpack/read.js';
import { pushModelArtifact } from '../src/oci/modelpack/write.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { oras, publishToFileStore, smallModelFiles } from './helpers/modelpack.js';
import { registries } from './services.js';

const run = promisify(execFile);
const ns = `mp${Date.now().toString(36)}`;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-modelpack-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const client = (): RegistryClient => new RegistryClient(registries.plain, { env: {} });

describe('publishing a model as a ModelPack artifact', () => {
  it('pushes one layer that oras sees as a ModelPack artifact and pulls byte-identical', async () => {
    const files = smallModelFiles('a');
    const { repo, manifest } = await publishToFileStore(work, 'digits', '1.0.0', files);
    const target = parseReference(`${registries.plain}/${ns}/models/digits`);
    const pushed = await pushModelArtifact(client(), target, manifest, {
      openFile: (path) => repo.openFile(manifest, path),
    });
    expect(pushed.layer).toEqual({
      digest: manifest.layer!.digest,
      size: manifest.layer!.size,
      action: 'uploaded',
    });

    const ref = `${registries.plain}/${ns}/models/digits:1.0.0`;
    const fetched = await oras(['manifest', 'fetch', '--plain-http', ref]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const m = JSON.parse(fetched.stdout) as {
      artifactType: string;
      config: { mediaType: string };
      layers: Array<{ mediaType: string; digest: string; annotations: Record<string, string> }>;
    };
    expect(m.artifactType).toBe(ModelPack.artifactType);
    expect(m.config.mediaType).toBe(ModelPack.config);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0]!.mediaType).toBe('application/vnd.cncf.model.weight.v1.tar');
    expect(m.layers[0]!.digest).toBe(manifest.layer!.digest);
    expect(m.layers[0]!.annotations[ModelPackAnnotation.filepath]).toBe('models/digits');
    expect(createHash('sha256').update(fetched.stdout).digest('hex')).toBe(
      pushed.digest.slice('sha256:'.length),
    );

    const out = join(work, 'oras-out');
    const pulled = await oras(['pull', '--plain-http', '-o', out, ref]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const tarball = await readFile(join(out, 'digits.tar'));
    expect(`sha256:${createHash('sha256').update(tarball).digest('hex')}`).toBe(
      manifest.layer!.digest,
    );
    const unpacked = join(work, 'unpacked');
    await run('mkdir', ['-p', unpacked]);
    await run('tar', ['-xf', join(out, 'digits.tar'), '-C', unpacked]);
    for (const [path, bytes] of Object.entries(files))
      expect((await readFile(join(unpacked, 'models', 'digits', path))).equals(bytes), path).toBe(
        true,
      );
  });

  it('its layer is the very layer the builder puts into images (same digest)', async () => {
    const files = smallModelFiles('b');
    const { repo, manifest } = await publishToFileStore(work, 'sizes', '2.0.0', files);
    const built = await modelLayer(
      {
        name: 'sizes',
        version: '2.0.0',
        digest: manifest.digest,
        target: '/models/sizes',
        files: manifest.files,
        dir: async () => {
          const dir = join(work, 'pulled-sizes');
          await repo.pull('sizes@2.0.0', dir);
          return dir;
        },
      },
      new BlobDir(join(work, 'layers')),
    );
    expect(built.status).toBe('built');
    const target = parseReference(`${registries.plain}/${ns}/models/sizes`);
    const pushed = await pushModelArtifact(client(), target, manifest, {
      openFile: (path) => repo.openFile(manifest, path),
    });
    expect(pushed.layer.digest).toBe(built.layer.digest);
    expect(pushed.layer.size).toBe(built.layer.size);
  });

  it('re-publishing the version is a no-op; a tag naming another artifact is refused', async () => {
    const { repo, manifest } = await publishToFileStore(
      work,
      'twice',
      '1.0.0',
      smallModelFiles('c'),
    );
    const target = parseReference(`${registries.plain}/${ns}/models/twice`);
    const options = { openFile: (path: string) => repo.openFile(manifest, path) };
    const first = await pushModelArtifact(client(), target, manifest, options);
    const again = await pushModelArtifact(client(), target, manifest, options);
    expect(again.digest).toBe(first.digest);
    expect(again.layer.action).toBe('exists');
    expect(again.uploadedBytes).toBe(0);

    const other = await publishToFileStore(
      join(work, 'other'),
      'twice',
      '1.0.0',
      smallModelFiles('dd'),
    );
    const refused = pushModelArtifact(client(), target, other.manifest, {
      openFile: (path) => other.repo.openFile(other.manifest, path),
    });
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    await expect(refused).rejects.toThrow(/already names another artifact .*immutable/);
    expect(await client().manifestDigest(target.repository, '1.0.0')).toBe(first.digest);
  });

  it('mounts the layer from a repository that has it, and reads the artifact back verified', async () => {
    const files = smallModelFiles('e');
    const { repo, manifest } = await publishToFileStore(work, 'mounted', '1.0.0', files);
    const options = { openFile: (path: string) => repo.openFile(manifest, path) };
    const first = parseReference(`${registries.plain}/${ns}/models/mounted`);
    await pushModelArtifact(client(), first, manifest, options);
    const second = parseReference(`${registries.plain}/${ns}/mirror/mounted`);
    const pushed = await pushModelArtifact(client(), second, manifest, {
      ...options,
      mountFrom: [first.repository],
    });
    expect(pushed.layer.action).toBe('mounted');
    expect(pushed.mountFallbacks).toEqual([]);
    expect(pushed.uploadedBytes).toBeLessThan(1000); // the config only

    // A repository without the blob: the registry declines the mount, the layer is uploaded.
    const third = parseReference(`${registries.plain}/${ns}/third/mounted`);
    const sent: number[] = [];
    const fallback = await pushModelArtifact(client(), third, manifest, {
      ...options,
      mountFrom: [`${ns}/nothing-here`],
      onBytes: (n) => sent.push(n),
    });
    expect(fallback.layer.action).toBe('uploaded');
    expect(fallback.mountFallbacks).toEqual([
      `the registry declined to mount it from ${ns}/nothing-here`,
    ]);
    expect(sent.at(-1)).toBe(manifest.layer!.size);

    const artifact = await readModelArtifact(client(), { ...second, tag: '1.0.0' });
    expect(artifact.digest).toBe(pushed.digest);
    expect(artifact.shipml).toEqual({
      name: 'mounted',
      version: '1.0.0',
      modelDigest: manifest.digest,
      target: '/models/mounted',
    });
    expect(artifact.config.descriptor).toMatchObject({ name: 'mounted', version: '1.0.0' });
    expect(artifact.config.config.format).toBe('onnx');
    const layer = mountableLayer(artifact, '/models/mounted');
    expect(layer?.digest).toBe(manifest.layer!.digest);
    expect(layer?.source).toEqual({ registry: registries.plain, repository: second.repository });
    expect(mountableLayer(artifact, '/models/elsewhere')).toBeUndefined();

    const dest = join(work, 'extracted-mounted');
    const result = await extractModelArtifact(artifact, dest);
    expect(result.root).toBe('models/mounted');
    const expected = manifest.files.map((f) => ({ ...f, path: `models/mounted/${f.path}` }));
    expect(result.files).toEqual(expected);
    for (const [path, bytes] of Object.entries(files))
      expect((await readFile(join(dest, result.root, path))).equals(bytes), path).toBe(true);
  });
});
