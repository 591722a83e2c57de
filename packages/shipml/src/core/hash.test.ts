import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HashingStream, VerifyingStream } from './hash.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const drain = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('streams that hash', () => {
  it('HashingStream passes bytes through and knows their sha256 and count', async () => {
    const data = Buffer.from('hello model');
    const hashing = new HashingStream();
    const out = await drain(Readable.from([data.subarray(0, 5), data.subarray(5)]).pipe(hashing));
    expect(out.equals(data)).toBe(true);
    expect([hashing.digest(), hashing.bytesSeen]).toEqual([sha(data), data.length]);
  });

  it('VerifyingStream passes the expected bytes and fails on anything else, at the end', async () => {
    const data = Buffer.from('weights');
    const ok = new VerifyingStream(
      { size: data.length, sha256: sha(data) },
      () => new Error('mismatch'),
    );
    expect((await drain(Readable.from([data]).pipe(ok))).equals(data)).toBe(true);

    const tampered = Buffer.from('weighTs');
    const bad = new VerifyingStream(
      { size: data.length, sha256: sha(data) },
      (a) => new Error(`got ${a.size} bytes, sha256 ${a.sha256}`),
    );
    await expect(drain(Readable.from([tampered]).pipe(bad))).rejects.toThrow(
      `got 7 bytes, sha256 ${sha(tampered)}`,
    );
    const short = new VerifyingStream(
      { size: data.length, sha256: sha(data) },
      (a) => new Error(`got ${a.size} bytes`),
    );
    await expect(drain(Readable.from([data.subarray(1)]).pipe(short))).rejects.toThrow(
      'got 6 bytes',
    );
  });
});
