import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through stream that hashes (sha256) and counts the bytes flowing through it,
 * so a file is hashed in the same pass that uploads or downloads it.
 */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private hex: string | undefined;

  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    this.onBytes?.(this.count);
    done(null, chunk);
  }

  /** Bytes seen so far. (Not `size`: upload libraries read `Body.size` as the total length.) */
  get bytesSeen(): number {
    return this.count;
  }

  /** Hex sha256 of all bytes; only valid once the stream has ended. */
  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}

/** A pass-through stream that counts the bytes flowing through it (HashingStream without the hash). */
export class CountingStream extends Transform {
  private count = 0;

  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.count += chunk.length;
    this.onBytes?.(this.count);
    done(null, chunk);
  }

  get bytesSeen(): number {
    return this.count;
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A pass-through stream that fails at its end unless exactly `size` bytes with sha256 `sha256`
 * (hex) went through: for bytes consumed as they arrive, with nothing on disk to re-check.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  constructor(
    private readonly expected: { size: number; sha256: string },
    /** The error to fail with, given what actually arrived. */
    private readonly mismatch: (actual: { size: number; sha256: string }) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const sha256 = this.hash.digest('hex');
    const ok = this.count === this.expected.size && sha256 === this.expected.sha256;
    done(ok ? null : this.mismatch({ size: this.count, sha256 }));
  }
}
