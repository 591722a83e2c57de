import { mkdir, mkdtemp, rm, symlink, utimes, chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { BlobDir } from './blobs.js';
import { buildLayer } from './layer.js';
import { collectEntries } from './tar.js';
import type { Layer } from './types.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-layer-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function makeApp(dir: string, mtime: Date): Promise<void> {
  await mkdir(join(dir, 'dist', 'deep'), { recursive: true });
  await writeFile(join(dir, 'dist', 'server.js'), 'console.log("hi")\n');
  await writeFile(join(dir, 'dist', 'deep', `${'n'.repeat(120)}.js`), 'long name\n');
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\n');
  await chmod(join(dir, 'run.sh'), 0o700);
  await writeFile(join(dir, 'package.json'), '{"name":"app"}');
  await symlink('dist/server.js', join(dir, 'main.js'));
  for (const f of ['dist/server.js', 'package.json', 'run.sh'])
    await utimes(join(dir, f), mtime, mtime);
}

async function entriesOf(layer: Layer, gzip: boolean) {
  const out: Array<{
    name: string;
    mode: number;
    uid: number;
    gid: number;
    mtime: number;
    type: string;
    linkname: string | null;
    size: number;
  }> = [];
  const tar = extract();
  const done = (async () => {
    for await (const entry of tar) {
      const h = entry.header;
      out.push({
        name: h.name,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        mtime: h.mtime.getTime(),
        type: h.type,
        linkname: h.linkname ?? null,
        size: h.size,
      });
      entry.resume();
    }
  })();
  const source = await layer.open();
  (gzip ? source.pipe(createGunzip()) : source).pipe(tar);
  await done;
  return out;
}

describe('layers', () => {
  it('are byte-identical for the same files built in different places at different times', async () => {
    const mtime = new Date('2026-01-01T00:00:00Z');
    const digests: string[] = [];
    for (const [i, fileTime] of [new Date('2020-01-01'), new Date('2025-06-01')].entries()) {
      const app = join(work, `app-${i}`);
      await makeApp(app, fileTime);
      const entries = await collectEntries(app, { target: '/app' });
      const layer = await buildLayer(entries, {
        blobs: new BlobDir(join(work, `blobs-${i}`)),
        mtime,
        compress: true,
      });
      digests.push(`${layer.digest} ${layer.diffId}`);
    }
    expect(digests[0]).toBe(digests[1]);
  });

  it('normalise owners, modes and times, and keep long names and in-context symlinks', async () => {
    const app = join(work, 'app-check');
    await makeApp(app, new Date());
    const layer = await buildLayer(await collectEntries(app, { target: '/app' }), {
      blobs: new BlobDir(join(work, 'blobs-check')),
      mtime: new Date('2026-01-01T00:00:00Z'),
      compress: true,
    });
    const entries = await entriesOf(layer, true);
    expect(entries.map((e) => e.name)).toEqual([
      'app/',
      'app/dist/',
      'app/dist/deep/',
      `app/dist/deep/${'n'.repeat(120)}.js`,
      'app/dist/server.js',
      'app/main.js',
      'app/package.json',
      'app/run.sh',
    ]);
    for (const e of entries) {
      expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, Date.parse('2026-01-01T00:00:00Z')]);
    }
    const mode = (name: string) => entries.find((e) => e.name === name)?.mode;
    expect([mode('app/'), mode('app/run.sh'), mode('app/package.json')]).toEqual([
      0o755, 0o755, 0o644,
    ]);
    expect(entries.find((e) => e.name === 'app/main.js')).toMatchObject({
      type: 'symlink',
      linkname: 'dist/server.js',
    });
  });

  it('model layers are plain tar: digest equals diffID', async () => {
    const dir = join(work, 'model');
    await mkdir(dir);
    await writeFile(join(dir, 'model.onnx'), Buffer.alloc(4096, 1));
    const layer = await buildLayer(await collectEntries(dir, { target: '/models/digits' }), {
      blobs: new BlobDir(join(work, 'blobs-m')),
      mtime: new Date(0),
      compress: false,
    });
    expect(layer.digest).toBe(layer.diffId);
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect((await entriesOf(layer, false)).map((e) => e.name)).toEqual([
      'models/',
      'models/digits/',
      'models/digits/model.onnx',
    ]);
  });

  it('refuses symlinks that leave the context, and paths escaping it', async () => {
    const dir = join(work, 'evil');
    await mkdir(dir);
    await symlink('/etc/passwd', join(dir, 'abs'));
    await expect(collectEntries(dir, { target: '/app' })).rejects.toThrow(
      /symlink abs -> \/etc\/passwd points outside the context/,
    );
    const dir2 = join(work, 'evil2');
    await mkdir(dir2);
    await symlink('../../x', join(dir2, 'up'));
    await expect(collectEntries(dir2, { target: '/app' })).rejects.toThrow(ConfigError);
    await expect(collectEntries(work, { target: '/app', include: ['../x'] })).rejects.toThrow(
      /must be a relative path inside the context/,
    );
  });
});

describe('tar edge cases', () => {
  it('writes a PAX size record for files over 8 GiB (sparse file: no disk used)', async () => {
    const dir = join(work, 'huge');
    await mkdir(dir);
    const { open } = await import('node:fs/promises');
    const handle = await open(join(dir, 'weights.bin'), 'w');
    await handle.truncate(8 * 1024 ** 3 + 1); // one byte past ustar's 8 GiB - 1
    await handle.close();
    const { Writable } = await import('node:stream');
    const { writeTar } = await import('./tar.js');
    let head = Buffer.alloc(0);
    const stop = new Error('seen enough');
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        head = Buffer.concat([head, chunk]);
        done(head.length > 8192 ? stop : null);
      },
    });
    await expect(
      writeTar(await collectEntries(dir, { target: '/m' }), sink, new Date(0)),
    ).rejects.toThrow();
    expect(head.toString('latin1')).toMatch(/\d+ size=8589934593\n/);
  });

  it('refuses file names that are not valid UTF-8, naming their bytes', async () => {
    const dir = join(work, 'latin1');
    await mkdir(dir);
    const { writeFile: write } = await import('node:fs/promises');
    await write(Buffer.from(join(dir, 'caf\xe9.txt'), 'latin1'), 'x');
    await expect(collectEntries(dir, { target: '/app' })).rejects.toThrow(
      /not valid UTF-8 \(636166e92e747874\)/,
    );
  });
});
