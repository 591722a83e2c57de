import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { IntegrityError } from '../../core/errors.js';
import type { PartPlan } from './part-plan.js';
import { crc32Base64, withUnsignedPayload } from './unsigned-part.js';

/** Where an object goes. */
export interface ObjectTarget {
  Bucket: string;
  Key: string;
}

export interface UploadObjectOptions {
  signal?: AbortSignal | undefined;
  /** Bytes the server has acknowledged so far. */
  onProgress?: ((sent: number) => void) | undefined;
}

/**
 * Uploads `size` bytes from `source` as one object: a single PutObject when it fits in one
 * part, else a multipart upload with `plan.concurrency` parts in flight. Parts are filled
 * into at most concurrency + 1 reused buffers (memory is bounded and nothing is allocated
 * per part), and the source is read no faster than parts are sent (backpressure).
 *
 * Every part carries its CRC32 (x-amz-checksum-crc32), which the server checks against the
 * bytes it received, and is sent with an unsigned payload: the SigV4 payload sha256 would be
 * a third sha256 pass over the model on our one thread (the file's and the layer's are the
 * others) and another on the server, for what the CRC32 already checks in transit. The
 * manifest that records each file's sha256 is still written with a signed payload, and every
 * pull verifies that sha256. A source that ends early or runs long fails the upload; a
 * failed multipart upload is aborted so no parts are left behind.
 */
export async function uploadObject(
  client: S3Client,
  target: ObjectTarget,
  source: Readable,
  size: number,
  plan: PartPlan,
  options: UploadObjectOptions = {},
): Promise<void> {
  if (size <= plan.partSize) {
    const body = await readExactly(source, size);
    await client.send(withUnsignedPayload(new PutObjectCommand(putParams(target, body))), {
      abortSignal: options.signal,
    });
    options.onProgress?.(size);
    return;
  }
  const created = await client.send(
    new CreateMultipartUploadCommand({ ...target, ChecksumAlgorithm: 'CRC32' }),
    { abortSignal: options.signal },
  );
  const uploadId = created.UploadId!;
  const parts = new PartSender(client, target, uploadId, plan, options);
  try {
    await parts.sendAll(source, size);
    await client.send(
      new CompleteMultipartUploadCommand({
        ...target,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.completed() },
      }),
      { abortSignal: options.signal },
    );
  } catch (err) {
    // Only once no part is in flight: one finishing after the abort would be left behind.
    await parts.cancel();
    // Not under the caller's signal: a cancelled publish must still clean up its parts.
    await client
      .send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
      .catch(() => undefined);
    throw err;
  }
}

/** Sends the parts of one multipart upload, `plan.concurrency` at a time. */
class PartSender {
  private readonly done: CompletedPart[] = [];
  private readonly free: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private failure: Error | undefined;
  private sent = 0;

  constructor(
    private readonly client: S3Client,
    private readonly target: ObjectTarget,
    private readonly uploadId: string,
    private readonly plan: PartPlan,
    private readonly options: UploadObjectOptions,
  ) {}

  /**
   * Reads the source to its end, sending each part as it fills; resolves once all are sent.
   * Cancelling stops the parts in flight and the read (the source is destroyed).
   */
  async sendAll(source: Readable, size: number): Promise<void> {
    const signal = this.options.signal;
    const onAbort = (): void => {
      this.controller.abort(signal!.reason);
      source.destroy(abortError(signal!));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.readAndSend(source, size);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async readAndSend(source: Readable, size: number): Promise<void> {
    const partSize = this.plan.partSize;
    let buffer: Buffer | undefined;
    let filled = 0;
    let total = 0;
    let partNumber = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (total + chunk.length > size) throw tooLong(size);
      for (let offset = 0; offset < chunk.length;) {
        buffer ??= this.free.pop() ?? Buffer.allocUnsafeSlow(partSize);
        const n = chunk.copy(
          buffer,
          filled,
          offset,
          offset + Math.min(chunk.length - offset, partSize - filled),
        );
        filled += n;
        offset += n;
        if (filled === partSize) {
          await this.send(++partNumber, buffer, filled);
          buffer = undefined;
          filled = 0;
        }
      }
      total += chunk.length;
      this.throwIfFailed();
    }
    if (total !== size)
      throw new IntegrityError(`the upload source ended after ${total} of ${size} bytes`);
    if (filled > 0) await this.send(++partNumber, buffer!, filled);
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** The parts in order, as CompleteMultipartUpload wants them. */
  completed(): CompletedPart[] {
    return [...this.done].sort((a, b) => a.PartNumber! - b.PartNumber!);
  }

  /** Stops the parts still in flight and waits for them to settle. */
  async cancel(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.inFlight);
  }

  /** Starts one part once a slot is free; its buffer returns to the pool when it is acknowledged. */
  private async send(partNumber: number, buffer: Buffer, length: number): Promise<void> {
    while (this.inFlight.size >= this.plan.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const body = buffer.subarray(0, length);
    const crc = crc32Base64(body);
    const command = withUnsignedPayload(
      new UploadPartCommand({
        ...this.target,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: length,
        ChecksumCRC32: crc,
      }),
    );
    const part = this.client.send(command, { abortSignal: this.controller.signal }).then(
      (out) => {
        this.done.push({
          PartNumber: partNumber,
          ETag: out.ETag,
          // What we sent, should a server not echo it: Complete lists every part's CRC32.
          ChecksumCRC32: out.ChecksumCRC32 ?? crc,
        });
        this.free.push(buffer);
        this.sent += length;
        this.options.onProgress?.(this.sent);
      },
      (err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        this.controller.abort();
      },
    );
    const tracked = part.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

function putParams(target: ObjectTarget, body: Buffer) {
  return { ...target, Body: body, ContentLength: body.length, ChecksumCRC32: crc32Base64(body) };
}

/** The whole source, which must be exactly `size` bytes (a small object: one part at most). */
async function readExactly(source: Readable, size: number): Promise<Buffer> {
  const body = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (filled + chunk.length > size) throw tooLong(size);
    chunk.copy(body, filled);
    filled += chunk.length;
  }
  if (filled !== size)
    throw new IntegrityError(`the upload source ended after ${filled} of ${size} bytes`);
  return body;
}

/** The caller's abort reason, as the AbortError a cancelled read throws. */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name === 'AbortError'
    ? signal.reason
    : Object.assign(new Error('the upload was cancelled'), { name: 'AbortError' });
}

function tooLong(size: number): Error {
  return new IntegrityError(`the upload source has more than the ${size} bytes announced`);
}
