import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError, NotFoundError } from '../core/errors.js';
import { BlobDir } from './blobs.js';
import { digestOf } from './digest.js';

let work: string;
let n = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shipml-blobs-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const fresh = () => new BlobDir(join(work, `dir-${++n}`));
const bytes = (text: string) => Buffer.from(text.repeat(1000));
const read = async (stream: Readable) => Buffer.from(await new Response(stream).arrayBuffer());

/** The files in blobs/sha256 (a temporary left behind would show here). */
const entries = async (blobs: BlobDir) =>
  (await readdir(join(blobs.dir, 'blobs', 'sha256')).catch(() => [])).sort();

describe('content-addressed blob directory', () => {
  it('stores bytes under their digest and hands them back', async () => {
    const blobs = fresh();
    const data = bytes('a');
    const digest = digestOf(data);
    await blobs.writeBlob(digest, data);
    expect(await blobs.has(digest, data.length)).toBe(true);
    expect((await blobs.readBlob(digest)).equals(data)).toBe(true);
    expect((await read((await blobs.open(digest, data.length))!)).equals(data)).toBe(true);
    expect(await entries(blobs)).toEqual([digest.slice(7)]);
  });

  it('refuses bytes that are not their digest, writing nothing', async () => {
    const blobs = fresh();
    const digest = digestOf(bytes('a'));
    await expect(blobs.writeBlob(digest, bytes('b'))).rejects.toThrow(IntegrityError);
    const stream = blobs.writeStream(digest, 3000, Readable.from([bytes('b')]), 'layer x');
    await expect(stream).rejects.toThrow(/layer x: got 1000 bytes with sha256:/);
    expect(await blobs.has(digest)).toBe(false);
    expect(await entries(blobs)).toEqual([]);
  });

  it('re-hashes on open: a corrupted entry fails its reader and is removed', async () => {
    const blobs = fresh();
    const data = bytes('c');
    const digest = digestOf(data);
    await blobs.writeBlob(digest, data);
    const rotten = Buffer.from(data);
    rotten[10] = rotten[10]! ^ 1; // same size, one bit flipped
    await writeFile(blobs.path(digest), rotten);

    const opened = await blobs.open(digest, data.length);
    await expect(read(opened!)).rejects.toThrow(IntegrityError);
    expect(await blobs.has(digest)).toBe(false);

    // The next write puts the right bytes back.
    await blobs.writeBlob(digest, data);
    expect((await blobs.readBlob(digest)).equals(data)).toBe(true);
  });

  it('drops an entry of the wrong size instead of serving or keeping it', async () => {
    const blobs = fresh();
    const data = bytes('d');
    const digest = digestOf(data);
    await blobs.writeBlob(digest, data);
    await writeFile(blobs.path(digest), data.subarray(0, 100)); // truncated
    expect(await blobs.open(digest, data.length)).toBeUndefined();
    await expect(stat(blobs.path(digest))).rejects.toThrow(/ENOENT/);

    await blobs.writeBlob(digest, data);
    await writeFile(blobs.path(digest), data.subarray(0, 100));
    expect(await blobs.has(digest, data.length)).toBe(false);
    await expect(stat(blobs.path(digest))).rejects.toThrow(/ENOENT/);
  });

  it('a corrupted small blob is an IntegrityError on read, a missing one NotFoundError', async () => {
    const blobs = fresh();
    const data = bytes('e');
    const digest = digestOf(data);
    await expect(blobs.readBlob(digest)).rejects.toThrow(NotFoundError);
    await blobs.writeBlob(digest, data);
    await writeFile(blobs.path(digest), bytes('f'));
    await expect(blobs.readBlob(digest)).rejects.toThrow(IntegrityError);
    expect(await blobs.has(digest)).toBe(false);
  });

  it('a layer of a blob that was removed says so when opened', async () => {
    const blobs = fresh();
    const data = bytes('g');
    const digest = digestOf(data);
    await blobs.writeBlob(digest, data);
    const layer = blobs.layer({ digest, diffId: digest, size: data.length, mediaType: 'x' });
    expect((await read(await layer.open())).equals(data)).toBe(true);
    await blobs.evict(digest);
    await expect(layer.open()).rejects.toThrow(NotFoundError);
  });

  it('commits a temp file written before its digest was known, replacing a bad entry', async () => {
    const blobs = fresh();
    const data = bytes('h');
    const digest = digestOf(data);
    await writeFile(await blobs.tempPath(), 'left by a crash'); // hidden, never an entry
    const temp = await blobs.tempPath();
    await writeFile(temp, data);
    await writeFile(blobs.path(digest), 'rotten');
    await blobs.commit(temp, digest);
    expect((await blobs.readBlob(digest)).equals(data)).toBe(true);
    expect((await entries(blobs)).filter((name) => !name.endsWith('.partial'))).toEqual([
      digest.slice(7),
    ]);
  });

  it('keeps small JSON records, written whole', async () => {
    const blobs = fresh();
    expect(await blobs.readRecord('layers', 'k')).toBeUndefined();
    await blobs.writeRecord('layers', 'k', { digest: 'sha256:x' });
    expect(await blobs.readRecord('layers', 'k')).toEqual({ digest: 'sha256:x' });
    expect(await readdir(join(blobs.dir, 'layers'))).toEqual(['k.json']);
    expect(await readFile(join(blobs.dir, 'layers', 'k.json'), 'utf8')).toBe(
      '{"digest":"sha256:x"}',
    );
  });
});
