import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobDir } from './blobs.js';
import { imageFromRootfs } from './import-rootfs.js';

let work: string;
let rootfs: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-rootfs-'));
  rootfs = join(work, 'rootfs');
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await mkdir(join(rootfs, 'proc', 'self'), { recursive: true });
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await writeFile(join(rootfs, 'etc', 'os-release'), 'ID=debian\n');
  await writeFile(join(rootfs, 'proc', 'self', 'status'), 'live\n');
  await symlink('../etc/os-release', join(rootfs, 'bin', 'link'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('imageFromRootfs', () => {
  it('makes a one-layer image with a PATH, the env and cmd asked for, and a fixed created time', async () => {
    const { image, layer } = await imageFromRootfs(rootfs, {
      blobs: new BlobDir(join(work, 'a')),
      env: { NODE_VERSION: 'v24' },
      cmd: ['node'],
      createdBy: 'test',
    });
    expect(image.layers).toHaveLength(1);
    expect(image.layers[0]!.digest).toBe(layer.digest);
    expect(image.config.config?.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'NODE_VERSION=v24',
    ]);
    expect(image.config.config?.Cmd).toEqual(['node']);
    expect(image.config.created).toBe('1970-01-01T00:00:01.000Z');
  });

  it('gives the same digest for the same tree in another cache, and leaves out proc by default', async () => {
    const a = await imageFromRootfs(rootfs, {
      blobs: new BlobDir(join(work, 'b')),
      createdBy: 't',
    });
    const b = await imageFromRootfs(rootfs, {
      blobs: new BlobDir(join(work, 'c')),
      createdBy: 't',
    });
    expect(b.image.digest).toBe(a.image.digest);
    const withProc = await imageFromRootfs(rootfs, {
      blobs: new BlobDir(join(work, 'd')),
      exclude: ['dev'],
      createdBy: 't',
    });
    expect(withProc.layer.digest).not.toBe(a.layer.digest);
  });
});

describe('imageFromRootfs with a gzip level', () => {
  it('compresses at that level: another digest and size, the same diffID (the same files)', async () => {
    // Compressible content, so the level shows in the size.
    await writeFile(join(rootfs, 'etc', 'words'), 'lorem ipsum dolor sit amet '.repeat(20_000));
    const options = { createdBy: 'test' };
    const fast = await imageFromRootfs(rootfs, {
      ...options,
      blobs: new BlobDir(join(work, 'fast')),
      gzipLevel: 1,
    });
    const best = await imageFromRootfs(rootfs, {
      ...options,
      blobs: new BlobDir(join(work, 'best')),
      gzipLevel: 9,
    });
    expect(fast.layer.diffId).toBe(best.layer.diffId);
    expect(fast.layer.digest).not.toBe(best.layer.digest);
    expect(fast.layer.size).toBeGreaterThan(best.layer.size);
  });
});
