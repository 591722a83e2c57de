import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../src/core/errors.js';
import { BlobDir, type LayerDescriptor } from '../src/oci/blobs.js';
import { OciImage } from '../src/oci/image.js';
import { buildLayer } from '../src/oci/layer.js';
import { appendLayers } from '../src/oci/mutate.js';
import { RegistryClient } from '../src/oci/remote/client.js';
import { pullImage } from '../src/oci/remote/read.js';
import { parseReference } from '../src/oci/remote/reference.js';
import { pushImage } from '../src/oci/remote/write.js';
import { collectEntries } from '../src/oci/tar.js';
import { registries } from './services.js';

/**
 * The layer cache is verified on use: a cached layer that rotted on disk is caught while it
 * is pushed (not sent as if it were fine, not retried as a network failure), removed, and
 * the next build writes it again.
 */
const run_ = `c${Date.now().toString(36)}`;
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-rot-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const client = () =>
  new RegistryClient(registries.plain, {
    env: {},
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  });

async function build(blobs: BlobDir): Promise<LayerDescriptor> {
  const src = join(work, 'model');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'weights.bin'), Buffer.alloc(256 * 1024, 5));
  const layer = await buildLayer(await collectEntries(src, { target: '/models/m' }), {
    blobs,
    mtime: new Date(0),
    compress: false,
  });
  return {
    digest: layer.digest,
    diffId: layer.diffId,
    size: layer.size,
    mediaType: layer.mediaType,
  };
}

const imageOf = (blobs: BlobDir, desc: LayerDescriptor) =>
  appendLayers(OciImage.empty(), [{ layer: blobs.layer(desc), createdBy: 'model' }]);

describe('pushing from a corrupted layer cache', () => {
  it('fails with IntegrityError, drops the layer, and a rebuild pushes', async () => {
    const dir = join(work, 'cache');
    const desc = await build(new BlobDir(dir));
    const path = new BlobDir(dir).path(desc.digest);
    const rotten = await readFile(path);
    rotten[rotten.length - 100] = rotten[rotten.length - 100]! ^ 1; // same size, one bit
    await writeFile(path, rotten);

    // A later run: a new BlobDir on the same directory, as every build opens its cache.
    const later = new BlobDir(dir);
    const ref = parseReference(`${registries.plain}/${run_}/rot:v1`);
    const failure = pushImage(client(), ref, imageOf(later, desc));
    await expect(failure).rejects.toThrow(IntegrityError);
    await expect(failure).rejects.toThrow(/blob sha256:[0-9a-f]{64} in .* is corrupted/);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect(await client().manifestDigest(`${run_}/rot`, 'v1')).toBeUndefined();

    expect(await later.has(desc.digest, desc.size)).toBe(false); // the builder rebuilds
    expect(await build(later)).toEqual(desc);
    await pushImage(client(), ref, imageOf(later, desc));
    expect((await pullImage(client(), ref)).layers[0]!.digest).toBe(desc.digest);
  });
});
