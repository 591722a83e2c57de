import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError, LocalStorageError } from '../src/core/errors.js';
import { BlobDir } from '../src/oci/blobs.js';
import { OciImage } from '../src/oci/image.js';
import { buildLayer } from '../src/oci/layer.js';
import { OciLayout } from '../src/oci/layout/index.js';
import { appendLayers } from '../src/oci/mutate.js';
import { collectEntries } from '../src/oci/tar.js';

/** A full disk while writing an OCI layout: a clear error, and the layout as it was. */
const run = promisify(execFile);
let work: string;
let small: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-fulldisk-'));
  small = join(work, 'small-disk');
  await mkdir(small);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
});
afterAll(async () => {
  await run('umount', [small]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

async function imageWith(bytes: number, seed: number): Promise<OciImage> {
  const dir = join(work, `files-${seed}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'data.bin'), Buffer.alloc(bytes, seed));
  const layer = await buildLayer(await collectEntries(dir, { target: '/data' }), {
    blobs: new BlobDir(join(work, 'blobs')),
    mtime: new Date(0),
    compress: false,
  });
  return appendLayers(OciImage.empty(), [{ layer, createdBy: 'test' }]);
}

describe('OCI layout on a full disk', () => {
  it('fails with LocalStorageError, keeps the previous index and leaves no temporary files', async () => {
    const layout = new OciLayout(join(small, 'layout'));
    const first = await imageWith(256 * 1024, 1);
    await layout.write(first, 'v1');
    const indexBefore = await readFile(join(small, 'layout', 'index.json'), 'utf8');

    const tooBig = await imageWith(4 * 1024 * 1024, 2);
    const failure = layout.write(tooBig, 'v2');
    await expect(failure).rejects.toThrow(LocalStorageError);
    await expect(failure).rejects.toThrow(/writing OCI layout .* failed: ENOSPC/);

    expect(await readFile(join(small, 'layout', 'index.json'), 'utf8')).toBe(indexBefore);
    // Temporaries sit beside their targets (core/atomic.ts) and are removed on failure.
    const files = await readdir(join(small, 'layout'), { recursive: true });
    expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(files.length).toBeGreaterThan(3); // the walk did see the layout
    expect((await layout.read('v1')).digest).toBe(first.digest);
  });

  it('refuses a layer whose bytes do not match its digest, writing nothing under that digest', async () => {
    const good = await imageWith(64 * 1024, 3);
    const real = good.layers[0]!;
    const lying = {
      ...real,
      open: () => Promise.resolve(Readable.from([Buffer.alloc(real.size, 9)])),
    };
    const image = OciImage.build(structuredClone(good.config), [lying]);
    const dir = join(work, 'verified-layout');
    await expect(new OciLayout(dir).write(image, 'v1')).rejects.toThrow(IntegrityError);
    await expect(stat(join(dir, 'blobs', 'sha256', real.digest.slice(7)))).rejects.toThrow(
      /ENOENT/,
    );
    await expect(stat(join(dir, 'index.json'))).rejects.toThrow(/ENOENT/);
  });
});
