import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, IntegrityError } from '../src/core/errors.js';
import { runModelStoreConformance } from '../src/model-store/conformance.js';
import { openModelStore } from '../src/model-store/registry.js';
import { planParts } from '../src/model-store/s3/part-plan.js';
import { withoutNodeVersionWarning } from '../src/model-store/s3/quiet-client.js';
import { s3Server, uniquePrefix } from './services.js';

let bucket: string;
beforeAll(async () => {
  bucket = await s3Server.createBucket();
});

runModelStoreConformance({
  kind: 's3',
  // Credentials from the environment (the standard AWS way), endpoint as a store option.
  fresh: () =>
    Promise.resolve({
      spec: { url: `s3://${bucket}/${uniquePrefix()}`, endpoint: s3Server.endpoint },
      env: s3Server.env(),
    }),
  withWrongCredentials: (spec, env) => ({
    spec,
    env: { ...env, AWS_SECRET_ACCESS_KEY: 'not-the-secret-key' },
  }),
});

const MiB = 1024 * 1024;

describe('s3 multipart upload, sized to the file', () => {
  it('plans parts from the file size and the buffer budget', () => {
    expect(planParts(0)).toEqual({ partSize: 8 * MiB, concurrency: 1 });
    expect(planParts(20 * MiB)).toEqual({ partSize: 8 * MiB, concurrency: 3 });
    expect(planParts(1024 * MiB)).toEqual({ partSize: 8 * MiB, concurrency: 6 });
    // 100 GiB does not fit 10,000 parts of 8 MiB: larger parts, fewer of them in flight.
    const huge = planParts(100 * 1024 * MiB);
    expect(huge.partSize).toBe(11 * MiB);
    expect(Math.ceil((100 * 1024 * MiB) / huge.partSize)).toBeLessThanOrEqual(10_000);
    expect(huge.partSize * (huge.concurrency + 1)).toBeLessThanOrEqual(64 * MiB);
    // What the store configures wins (the part size only grows when S3's limit needs it).
    expect(planParts(1024 * MiB, { partSizeMiB: 16, queueSize: 10 })).toEqual({
      partSize: 16 * MiB,
      concurrency: 10,
    });
  });

  const open = async (prefix: string) =>
    openModelStore(
      { url: `s3://${bucket}/${prefix}`, endpoint: s3Server.endpoint, partSizeMiB: 5 },
      s3Server.env(),
    );
  const client = () =>
    withoutNodeVersionWarning(
      () =>
        new S3Client({
          endpoint: s3Server.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId: s3Server.accessKey, secretAccessKey: s3Server.secretKey },
        }),
    );

  it.each([
    ['one byte short of a part', 5 * MiB - 1],
    ['exactly two parts', 10 * MiB],
    ['two parts and a byte', 10 * MiB + 1],
  ])('moves %s intact, each part with a CRC32 the server checked', async (_, size) => {
    const prefix = uniquePrefix();
    const store = await open(prefix);
    const bytes = randomBytes(size);
    const sent: number[] = [];
    await store.upload('blob.bin', Readable.from(chunks(bytes, 300_001)), size, {
      onProgress: (n) => sent.push(n),
    });
    expect(sent.at(-1)).toBe(size);
    const { body } = await store.download('blob.bin');
    const back = createHash('sha256');
    for await (const chunk of body) back.update(chunk as Buffer);
    expect(back.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    const s3 = client();
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/blob.bin`, ChecksumMode: 'ENABLED' }),
    );
    s3.destroy();
    // A multipart object's CRC32 is the CRC of its parts' CRCs, suffixed with their count.
    const parts = Math.ceil(size / (5 * MiB));
    expect(head.ChecksumCRC32).toMatch(
      parts > 1 ? new RegExp(`^[A-Za-z0-9+/]{6}==-${parts}$`) : /^[A-Za-z0-9+/]{6}==$/,
    );
    expect(head.ContentLength).toBe(size);
  });

  it('refuses a source that ends early and leaves no parts behind', async () => {
    const prefix = uniquePrefix();
    const store = await open(prefix);
    const bytes = randomBytes(12 * MiB);
    await expect(
      store.upload('short.bin', Readable.from(chunks(bytes, MiB)), 13 * MiB),
    ).rejects.toThrow(IntegrityError);
    await expect(
      store.upload('long.bin', Readable.from(chunks(bytes, MiB)), 11 * MiB),
    ).rejects.toThrow(/more than the 11534336 bytes/);
    const s3 = client();
    const pending = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }),
    );
    s3.destroy();
    expect(pending.Uploads ?? []).toEqual([]);
    const left: string[] = [];
    for await (const o of store.list('')) left.push(o.key);
    expect(left).toEqual([]);
  });
  it('stops a multipart upload cancelled halfway, leaving no parts behind', async () => {
    const prefix = uniquePrefix();
    const store = await open(prefix);
    const controller = new AbortController();
    let read = 0;
    // Two parts' worth, then a source that stalls: only the cancel can end the upload.
    const source = new Readable({
      read() {
        if (read < 10 * MiB) this.push(randomBytes(MiB));
        read += MiB;
      },
    });
    const upload = store.upload('cancelled.bin', source, 30 * MiB, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(upload).rejects.toThrow(CancelledError);
    expect(source.destroyed).toBe(true);
    const s3 = client();
    const pending = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }),
    );
    s3.destroy();
    expect(pending.Uploads ?? []).toEqual([]);
  });
});

function* chunks(bytes: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
